"""credential-report end to end: the built bootstrap under the Runtime API emulator, against the
rig with signatures and IAM enforced, signed with infra/policies/credential-report.json only.

One organisation (report_org.py) is seeded for the module, larger than a page of everything the
report lists. The report is then made three times as of the same instant: with LookupEvents, with
CloudTrail Lake (after more permission sets are provisioned, so that the report enumerates by
principal instead of by account and permission set), and with a Lake query that never finishes.
Each CSV is compared cell by cell with the report report_org.expected_report() computes from what
was seeded (docs/contract.md "Report out"), never with another output of the function.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

import pytest

import report_org
import rig
from rig.cloudtrail_fake import DEFAULT_CONFIG
from conftest import (function_credentials, function_environment, function_variables, log_lines, policy_values, run_function,
                      unique)

EVENT_DATA_STORE = "eds-rig-0000000001"
LOOKBACK_DAYS = 30
POLICY_PREFIX = "credential_reports/"
LAKE_PREFIX = "credential_reports/lake/"
TIMEOUT_PREFIX = "credential_reports/timeout/"
LOG_LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
KEY_NAME = re.compile(r"^credential_report-\d{4}-\d{2}-\d{2}T\d{6}Z\.csv$")


@dataclass
class Setup:
    state: dict
    sso: dict
    org: report_org.Org
    bucket: str
    ledger: str
    credentials: dict
    kms_key: str
    as_of: dt.datetime
    records: list[dict]


@dataclass
class Run:
    result: object  # lambda_emulator.EmulatorResult
    prefix: str
    source: str
    enumeration: str
    pairs: int
    principals: int
    lookup_calls: int


@pytest.fixture(scope="module")
def setup(rig_path, state, sso):
    tag = unique("cr").split("-")[1][:8]
    org = report_org.Org(tag=tag, instance_arn=sso["instanceArn"], identity_store_id=sso["identityStoreId"],
                         spec=report_org.build_spec(tag))
    try:
        report_org.seed(state, org)
        # The report covers the whole instance: another module's permission sets would be in it.
        sso_admin = rig.client(state, "sso-admin")
        present = {arn for page in sso_admin.get_paginator("list_permission_sets").paginate(InstanceArn=sso["instanceArn"])
                   for arn in page["PermissionSets"]}
        mine = {ps["arn"] for ps in org.permission_sets.values()}
        assert present == mine, f"permission sets not made by this module are in the instance: {sorted(present - mine)}"
        bucket = unique("cr-reports")
        rig.client(state, "s3").create_bucket(Bucket=bucket)
        ledger = rig.call(rig_path, "create_table", name=unique("cr-activity"), sort_key="Scope")["tableName"]
        values = policy_values(state, sso, report_bucket=bucket, report_prefix=POLICY_PREFIX, activity_table=ledger,
                               event_data_store=EVENT_DATA_STORE)
        credentials = function_credentials(rig_path, "credential-report", values)
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        as_of = now - dt.timedelta(hours=2)  # a record an hour after it is still in LookupEvents' 90 days
        records = report_org.role_sign_ins(org, as_of)
        yield Setup(state, sso, org, bucket, ledger, credentials, values["report_kms_key_arn"], as_of, records)
    finally:
        report_org.remove(state, org)


def principals_in_store(setup: Setup) -> int:
    """Users and groups in the whole identity store (the report weighs them against the pairs)."""
    store = rig.client(setup.state, "identitystore")
    count = 0
    for operation, key in (("list_users", "Users"), ("list_groups", "Groups")):
        for page in store.get_paginator(operation).paginate(IdentityStoreId=setup.sso["identityStoreId"]):
            count += len(page[key])
    return count


def reset_ledger(setup: Setup, role_sign_ins: list[dict] = ()) -> None:
    """An activity ledger holding only `role_sign_ins` ({"userId", "accountId", "roleName", "at"})."""
    dynamodb = rig.client(setup.state, "dynamodb")
    for page in dynamodb.get_paginator("scan").paginate(TableName=setup.ledger):
        for item in page["Items"]:
            dynamodb.delete_item(TableName=setup.ledger, Key={"UserId": item["UserId"], "Scope": item["Scope"]})
    for one in role_sign_ins:
        dynamodb.put_item(TableName=setup.ledger, Item={
            "UserId": {"S": one["userId"]}, "Scope": {"S": f"role#{one['accountId']}#{one['roleName']}"},
            "LastSignInAt": {"S": one["at"]}, "UpdatedAt": {"S": one["at"]}})


def run_report(setup: Setup, source: str, prefix: str | None, payload: dict, extra: dict | None = None,
               ledger: list[dict] = (), **options) -> Run:
    """Loads the seeded CloudTrail records (only those), and an activity ledger holding only
    `ledger`'s role sign-ins, and runs the report once."""
    prepare_sources(setup, ledger)
    return invoke_report(setup, source, prefix, payload, extra, **options)


def prepare_sources(setup: Setup, ledger: list[dict] = ()) -> None:
    """The seeded CloudTrail records (only those), and an activity ledger holding only `ledger`'s role sign-ins."""
    reset_ledger(setup, ledger)
    rig.cloudtrail_admin(setup.state, "DELETE", "events")
    rig.cloudtrail_admin(setup.state, "POST", "events", setup.records)
    rig.cloudtrail_admin(setup.state, "DELETE", "stats")


def invoke_report(setup: Setup, source: str, prefix: str | None, payload: dict, extra: dict | None = None,
                  credentials: dict | None = None, **options) -> Run:
    """One invocation of the report, on the sources as they are, with the module's credentials
    (their policy's report prefix is POLICY_PREFIX) unless others are given."""
    variables = {**function_variables("credential-report", setup.sso["identityStoreId"], instance_arn=setup.sso["instanceArn"],
                                      report_bucket=setup.bucket, activity_table=setup.ledger),
                 "ACTIVITY_SOURCE": source, **(extra or {})}
    if prefix is not None:
        variables["REPORT_PREFIX"] = prefix
    if source == "lake":
        variables["CLOUDTRAIL_LAKE_EVENT_DATA_STORE"] = EVENT_DATA_STORE
    pairs = len(setup.org.provisioned_pairs())
    principals = principals_in_store(setup)
    environment = function_environment(setup.state, credentials or setup.credentials, **variables)
    result = run_function("credential-report", [payload], environment, **options)
    stats = rig.cloudtrail_admin(setup.state, "GET", "stats")
    enumeration = "per-account-and-permission-set" if pairs <= principals else "per-principal"
    return Run(result, prefix or "credential_reports/", source, enumeration, pairs, principals,
               stats["operations"].get("LookupEvents", 0))


@pytest.fixture(scope="module")
def lookup_run(setup) -> Run:
    # REPORT_PREFIX left to its default; the window from REPORT_LOOKBACK_DAYS.
    run = run_report(setup, "lookup-events", None, {"asOf": report_org.iso(setup.as_of)},
                     {"REPORT_LOOKBACK_DAYS": str(LOOKBACK_DAYS)})
    assert run.enumeration == "per-account-and-permission-set", (run.pairs, run.principals)
    return run


@pytest.fixture(scope="module")
def lake_run(setup, lookup_run) -> Run:
    # Permission sets provisioned where they have no assignment until the pairs outnumber the
    # users and groups: the report then enumerates by principal; the rows stay the same.
    report_org.provision_without_assignments(setup.state, setup.org, principals_in_store(setup))
    run = run_report(setup, "lake", LAKE_PREFIX,
                     {"asOf": report_org.iso(setup.as_of), "lookbackDays": LOOKBACK_DAYS},
                     {"REPORT_KMS_KEY_ID": setup.kms_key})
    assert run.enumeration == "per-principal", (run.pairs, run.principals)
    return run


def invocation(run: Run):
    assert run.result.init_error is None, run.result.init_error
    assert len(run.result.invocations) == 1
    return run.result.invocations[0]


def succeeded(run: Run) -> dict:
    call = invocation(run)
    assert call.status == "success", (call.error, run.result.stderr_lines[-20:], run.result.stdout_lines[-20:])
    return call.response


def report_key(run: Run, setup: Setup) -> str:
    stamp = setup.as_of.strftime("%Y-%m-%dT%H%M%SZ")
    key = f"{run.prefix}credential_report-{stamp}.csv"
    assert KEY_NAME.match(key.removeprefix(run.prefix)), key
    return key


def get(setup: Setup, key: str) -> tuple[bytes, dict]:
    answer = rig.client(setup.state, "s3").get_object(Bucket=setup.bucket, Key=key)
    return answer["Body"].read(), answer


def assert_same_cells(actual: list[list[str]], expected: list[list[str]]) -> None:
    """Header exact, then every row cell by cell, naming the first differences."""
    assert actual[0] == expected[0], f"header: {actual[0]!r}"
    differences = []
    for number, (got, want) in enumerate(zip(actual[1:], expected[1:]), start=1):
        if got != want:
            cells = [f"{name}: {g!r} != {w!r}" for name, g, w in zip(report_org.HEADER, got, want) if g != w]
            where = ", ".join(f"{name}={w!r}" for name, w in zip(report_org.HEADER, want)
                              if name in ("account", "PermissionSetName", "GroupName", "Username"))
            differences.append(f"row {number} ({where}): "
                               + ("; ".join(cells) or f"{len(got)} cells, expected {len(want)}"))
    assert not differences, f"{len(differences)} rows differ:\n" + "\n".join(differences[:15])
    assert len(actual) == len(expected), f"{len(actual) - 1} rows, expected {len(expected) - 1}"


def assert_report(run: Run, setup: Setup) -> None:
    body, _ = get(setup, report_key(run, setup))
    expected = report_org.expected_report(setup.org, setup.as_of, LOOKBACK_DAYS)
    assert_same_cells(report_org.parse_csv(body), expected)
    # RFC 4180 on the bytes: the header line exact, every record separated by CRLF, and the "="
    # user name neutralised inside a quoted field with its quotes doubled.
    assert body.startswith(",".join(report_org.HEADER).encode() + b"\r\n")
    separators = report_org.record_separators(body)
    assert len(separators) in (len(expected) - 1, len(expected)), len(separators)  # RFC 4180: last one optional
    assert set(separators) == {b"\r\n"}, sorted(set(separators))
    formula = setup.org.users["formula"]["name"]
    assert ("'" + formula).replace('"', '""').encode() in body
    assert b"\r\n=" not in body and b",=" not in body and b'"=' not in body


def assert_result(run: Run, setup: Setup, response: dict) -> None:
    expected = report_org.expected_report(setup.org, setup.as_of, LOOKBACK_DAYS)[1:]
    key = report_key(run, setup)
    assert set(response) == {"s3Uri", "rows", "users", "accounts", "permissionSets", "apiCalls", "durationMs",
                             "enumeration", "dryRun", "complete", "invocations"}
    assert response["complete"] is True and response["invocations"] == 1
    assert response["dryRun"] is False
    assert response["s3Uri"] == f"s3://{setup.bucket}/{key}"
    assert response["rows"] == len(expected)
    user_column = report_org.HEADER.index("UserId")
    assert response["users"] == len({row[user_column] for row in expected})
    assert response["accounts"] == len({account for account, _ in setup.org.provisioned_pairs()}) == report_org.ACCOUNTS
    assert response["permissionSets"] == len(setup.org.permission_sets)
    assert response["enumeration"] == run.enumeration
    duration = invocation(run).duration_ms
    assert 0 <= response["durationMs"] <= duration
    # At least one call a page of everything listed, one a pair or principal, and the two PUTs.
    org = setup.org
    pages = lambda items, size: max(1, -(-items // size))  # noqa: E731
    floor = 1 + 2 * len(org.permission_sets) + pages(report_org.ACCOUNTS, 100) - 1  # list, describe, accounts per set
    floor += pages(len(org.users), 100) + pages(len(org.groups), 100) + pages(report_org.ACCOUNTS + 1, 20)
    floor += run.pairs if run.enumeration == "per-account-and-permission-set" else run.principals
    floor += 2
    assert response["apiCalls"] >= floor + run.lookup_calls, (response["apiCalls"], floor, run.lookup_calls)


def assert_manifest(run: Run, setup: Setup, response: dict) -> None:
    csv_key = report_key(run, setup)
    body, _ = get(setup, csv_key.removesuffix(".csv") + ".json")
    manifest = json.loads(body)
    start = setup.as_of - dt.timedelta(days=LOOKBACK_DAYS)
    assert manifest == {
        "report": f"s3://{setup.bucket}/{csv_key}",
        "generatedAt": report_org.iso(setup.as_of),
        "windowStart": report_org.iso(start),
        "windowEnd": report_org.iso(setup.as_of),
        "lookbackDays": LOOKBACK_DAYS,
        "activitySource": run.source,
        "identityStoreId": setup.sso["identityStoreId"],
        "instanceArn": setup.sso["instanceArn"],
        "rows": response["rows"],
        "users": response["users"],
        "accounts": response["accounts"],
        "permissionSets": response["permissionSets"],
        "enumeration": run.enumeration,
        "apiCalls": response["apiCalls"],
        "invocations": 1,
    }


def assert_encrypted(run: Run, setup: Setup, key_id: str | None) -> None:
    csv_key = report_key(run, setup)
    for key in (csv_key, csv_key.removesuffix(".csv") + ".json"):
        head = rig.client(setup.state, "s3").head_object(Bucket=setup.bucket, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms", (key, head)
        assert head.get("SSEKMSKeyId") == key_id, (key, head)


def assert_logs(run: Run) -> list[dict]:
    """Every line the process wrote is one JSON object (log_lines fails on any other), with the
    fields docs/contract.md names; one INFO line names the enumeration chosen and its reason."""
    lines = log_lines(run.result)
    assert lines
    for line in lines:
        assert {"timestamp", "level", "message"} <= set(line), line
        assert line["level"] in LOG_LEVELS, line
        assert dt.datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).tzinfo is not None, line
    request_id = invocation(run).request_id
    chosen = [line for line in lines if line["level"] == "INFO" and run.enumeration in line["message"]
              and re.search(rf"\b{run.pairs}\b", line["message"]) and re.search(rf"\b{run.principals}\b", line["message"])]
    assert len(chosen) == 1, [line["message"] for line in lines]
    assert chosen[0].get("requestId") == request_id
    return lines


# --- the tests --------------------------------------------------------------------------------


def test_seeded_organisation_spans_more_than_a_page_of_each_list(setup):
    org, state = setup.org, setup.state
    sso_admin, store = rig.client(state, "sso-admin"), rig.client(state, "identitystore")
    a_arn = org.permission_sets["A"]["arn"]
    first = sso_admin.list_accounts_for_provisioned_permission_set(InstanceArn=org.instance_arn, PermissionSetArn=a_arn,
                                                                   MaxResults=100)
    assert "NextToken" in first and len(first["AccountIds"]) == 100
    assert "NextToken" in rig.client(state, "organizations").list_accounts(MaxResults=20)
    assert "NextToken" in store.list_users(IdentityStoreId=org.identity_store_id, MaxResults=100)
    assert "NextToken" in store.list_groups(IdentityStoreId=org.identity_store_id, MaxResults=100)
    assert "NextToken" in store.list_group_memberships(IdentityStoreId=org.identity_store_id,
                                                       GroupId=org.groups["big"]["id"], MaxResults=100)
    assert "NextToken" in sso_admin.list_account_assignments(InstanceArn=org.instance_arn, AccountId=org.account(4),
                                                             PermissionSetArn=a_arn, MaxResults=100)
    kinds = [r["eventName"] for r in setup.records]
    assert kinds.count("GetRoleCredentials") > 50
    assert "Description" not in sso_admin.describe_permission_set(
        InstanceArn=org.instance_arn, PermissionSetArn=org.permission_sets["B"]["arn"])["PermissionSet"]


def test_lookup_events_report_is_the_expected_csv_cell_by_cell(setup, lookup_run):
    succeeded(lookup_run)
    assert_report(lookup_run, setup)
    # What the comparison covers, spelled out for the cases docs/contract.md names.
    org, column = setup.org, report_org.HEADER.index
    rows = report_org.parse_csv(get(setup, report_key(lookup_run, setup))[0])[1:]
    multi = [row for row in rows if row[column("UserId")] == org.users["multi"]["id"]
             and row[column("account")] == org.account(1) and row[column("PermissionSetName")] == org.permission_sets["B"]["name"]]
    assert [(row[column("Type")], row[column("GroupId")]) for row in multi] == [
        ("USER", ""), ("GROUP", org.groups["g2"]["id"]), ("GROUP", org.groups["g1"]["id"])]  # "", "-admins", "Ops, ..."
    assert len({row[column("LastLogin")] for row in multi}) == 1
    assert multi[0][column("LastLogin")] != report_org.NO_LOGIN
    assert all(row[column("PermissionSetDescription")] == "" for row in rows
               if row[column("PermissionSetArn")] == org.permission_sets["B"]["arn"])
    assert not [row for row in rows if row[column("GroupId")] == org.groups["empty"]["id"]]
    legacy = [row for row in rows if row[column("UserId")] == org.users["legacy"]["id"]
              and row[column("account")] == org.account(3) and row[column("PermissionSetArn")] == org.permission_sets["C"]["arn"]]
    assert [row[column("LastLogin")] for row in legacy] == [report_org.iso(setup.as_of - dt.timedelta(days=2, hours=5))]
    # More than one page of GetRoleCredentials, and Federate: three LookupEvents calls at least.
    assert lookup_run.lookup_calls >= 3


def test_lookup_events_result_manifest_encryption_and_logs(setup, lookup_run):
    response = succeeded(lookup_run)
    assert_result(lookup_run, setup, response)
    assert_manifest(lookup_run, setup, response)
    assert_encrypted(lookup_run, setup, None)  # S3's AWS-managed key when REPORT_KMS_KEY_ID is unset
    lines = assert_logs(lookup_run)
    assert any(line["level"] == "INFO" and response["s3Uri"] in line["message"] for line in lines)


def test_lake_report_is_the_same_expected_csv(setup, lookup_run, lake_run):
    succeeded(lake_run)
    assert_report(lake_run, setup)
    lake_body, _ = get(setup, report_key(lake_run, setup))
    lookup_body, _ = get(setup, report_key(lookup_run, setup))
    last_login = report_org.HEADER.index("LastLogin")
    assert [row[last_login] for row in report_org.parse_csv(lake_body)] == \
        [row[last_login] for row in report_org.parse_csv(lookup_body)]
    assert lake_run.lookup_calls == 0


def test_lake_result_manifest_encryption_and_logs(setup, lake_run):
    response = succeeded(lake_run)
    assert_result(lake_run, setup, response)
    assert_manifest(lake_run, setup, response)
    assert_encrypted(lake_run, setup, setup.kms_key)
    assert_logs(lake_run)


def test_lake_query_still_running_at_the_deadline_fails_clearly(setup):
    rig.cloudtrail_admin(setup.state, "POST", "config", {"lakeQueryNeverFinishes": True})
    try:
        run = run_report(setup, "lake", TIMEOUT_PREFIX, {"asOf": report_org.iso(setup.as_of)},
                         timeout_seconds=40, max_wall_seconds=90)
    finally:
        rig.cloudtrail_admin(setup.state, "POST", "config", dict(DEFAULT_CONFIG))
    call = invocation(run)
    assert not run.result.timed_out
    assert call.status == "error", call.response
    message = call.error["errorMessage"]
    assert "Lake" in message and "RUNNING" in message and "time ran out" in message, call.error
    # Given up 30 s before the 40 s deadline, not at it.
    assert 9_000 <= call.duration_ms < 40_000, call.duration_ms
    # Nothing written. (Listed whole: moto with auth on rejects the signature of a ListObjectsV2
    # whose Prefix holds a "/".)
    listed = rig.client(setup.state, "s3").list_objects_v2(Bucket=setup.bucket)
    assert not [o["Key"] for o in listed.get("Contents", []) if o["Key"].startswith(TIMEOUT_PREFIX)]
    assert not listed["IsTruncated"]
    lines = log_lines(run.result)
    assert any(line["level"] == "ERROR" and "Lake" in line["message"] for line in lines), lines
    for line in lines:
        assert {"timestamp", "level", "message"} <= set(line), line


def listed_keys(setup: Setup, prefix: str) -> list[str]:
    """The bucket's keys under `prefix`. (Listed whole: moto with auth on rejects the signature
    of a ListObjectsV2 whose Prefix holds a "/".)"""
    listed = rig.client(setup.state, "s3").list_objects_v2(Bucket=setup.bucket)
    assert not listed["IsTruncated"]
    return [one["Key"] for one in listed.get("Contents", []) if one["Key"].startswith(prefix)]


def test_a_report_too_large_for_one_invocation_goes_on_to_the_same_csv(rig_path, setup, lookup_run):
    """Each invocation has 3 s before the report's 30-second margin, at 10 requests a second:
    the report stops, keeps its progress and answers a continuation; invoked with it, it goes on."""
    prefix = "credential_reports/continued/"
    extra = {"REPORT_LOOKBACK_DAYS": str(LOOKBACK_DAYS), "REPORT_REQUESTS_PER_SECOND": "10", "REPORT_KMS_KEY_ID": setup.kms_key}
    # The function's policy for this REPORT_PREFIX: its progress is read and removed under <prefix>progress/ only.
    credentials = function_credentials(rig_path, "credential-report", policy_values(
        setup.state, setup.sso, report_bucket=setup.bucket, report_prefix=prefix, activity_table=setup.ledger,
        event_data_store=EVENT_DATA_STORE))
    prepare_sources(setup)
    payload, paused = {"asOf": report_org.iso(setup.as_of)}, []
    while True:
        run = invoke_report(setup, "lookup-events", prefix, payload, extra, credentials, timeout_seconds=33, max_wall_seconds=90)
        response = succeeded(run)
        if response["complete"]:
            break
        assert set(response) == {"complete", "continuation", "invocations", "apiCalls", "durationMs", "progressBytes"}
        paused.append(response)
        (progress,) = listed_keys(setup, f"{prefix}progress/")
        head = rig.client(setup.state, "s3").head_object(Bucket=setup.bucket, Key=progress)
        assert (head["ServerSideEncryption"], head.get("SSEKMSKeyId")) == ("aws:kms", setup.kms_key), "progress is encrypted"
        body, _ = get(setup, progress)
        for credential in (credentials["accessKeyId"], credentials["secretAccessKey"]):
            assert credential.encode() not in body, "progress holds no credential"
        assert len(paused) < 40, "the report makes progress every invocation"
        payload = {"continuation": response["continuation"]}

    assert len(paused) >= 2, "a deadline this short stops the report more than once"
    assert {one["continuation"] for one in paused} == {paused[0]["continuation"]}
    assert [one["invocations"] for one in paused] == list(range(1, len(paused) + 1))
    assert response["invocations"] == len(paused) + 1
    continued, _ = get(setup, report_key(run, setup))
    whole, _ = get(setup, report_key(lookup_run, setup))
    assert continued == whole, "the same CSV, byte for byte, as one uninterrupted invocation"
    assert listed_keys(setup, f"{prefix}progress/") == [], "progress is removed once the report is written"


@pytest.mark.parametrize("continuation, message", [
    ("cr1.not-a-run-this-report-gave", "is not one this report gave"),
    ("cr1." + "0" * 32, "is unknown or has expired"),
])
def test_a_continuation_the_report_did_not_give_fails_clearly(setup, continuation, message):
    before = listed_keys(setup, POLICY_PREFIX)
    run = invoke_report(setup, "lookup-events", None, {"continuation": continuation})
    call = invocation(run)
    assert call.status == "error", call.response
    assert message in call.error["errorMessage"], call.error
    assert listed_keys(setup, POLICY_PREFIX) == before, "nothing written"


def test_dry_run_computes_the_report_and_writes_nothing(setup):
    run = run_report(setup, "lookup-events", "dry-run/", {"asOf": report_org.iso(setup.as_of), "dryRun": True},
                     {"REPORT_LOOKBACK_DAYS": str(LOOKBACK_DAYS)})
    response = succeeded(run)
    assert response["dryRun"] is True
    assert response["rows"] == len(report_org.expected_report(setup.org, setup.as_of, LOOKBACK_DAYS)) - 1
    assert response["s3Uri"] == f"s3://{setup.bucket}/{report_key(run, setup)}"
    listed = rig.client(setup.state, "s3").list_objects_v2(Bucket=setup.bucket)
    assert not [o["Key"] for o in listed.get("Contents", []) if o["Key"].startswith("dry-run/")]


def test_a_role_sign_in_only_the_ledger_remembers_is_reported_and_cloudtrail_reads_are_recorded(setup, lookup_run):
    """A sign-in 150 days ago, beyond CloudTrail's 90, that the activity ledger kept."""
    column = report_org.HEADER.index
    expected = report_org.expected_report(setup.org, setup.as_of, LOOKBACK_DAYS)
    never = next(row for row in expected[1:] if row[column("LastLogin")] == report_org.NO_LOGIN)
    at = setup.as_of - dt.timedelta(days=150)
    remembered = {"userId": never[column("UserId")], "accountId": never[column("account")],
                  "roleName": never[column("PermissionSetName")], "at": report_org.iso(at)}
    run = run_report(setup, "lookup-events", "credential_reports/ledger/", {"asOf": report_org.iso(setup.as_of)},
                     {"REPORT_LOOKBACK_DAYS": str(LOOKBACK_DAYS)}, ledger=[remembered])
    succeeded(run)
    rows = report_org.parse_csv(get(setup, report_key(run, setup))[0])[1:]
    same_path = [row for row in rows if (row[column("UserId")], row[column("account")], row[column("PermissionSetName")])
                 == (remembered["userId"], remembered["accountId"], remembered["roleName"])]
    assert same_path and all((row[column("LastLogin")], row[column("DaysSinceLastLogin")]) == (remembered["at"], "150")
                             for row in same_path)
    # What CloudTrail held is in the ledger now: the next report reads only what is new.
    scopes = {item["Scope"]["S"] for item in rig.client(setup.state, "dynamodb").scan(TableName=setup.ledger)["Items"]}
    assert len([scope for scope in scopes if scope.startswith("role#")]) > 1
    assert any(scope.startswith("lookup-events#") for scope in scopes)
