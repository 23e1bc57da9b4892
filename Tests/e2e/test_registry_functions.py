"""registry-writer and registry-cleaner end to end: the built binaries under the Runtime API
emulator, signed with their own least-privilege policies, against moto's identity store and
DynamoDB. Every expected value is worked out here from what the test seeded (docs/contract.md,
"Registry table" and "Events in").
"""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from conftest import (
    SCHEDULED_EVENT,
    create_store_user,
    environment_for,
    eventbridge,
    log_lines,
    ISO_SECOND,
    iso,
    new_table,
    parse_iso,
    rig,
    run_function,
    table_items,
    unique,
    utc_now,
)

from rig import cloudtrail_events as ct

SOURCES = {"sso-directory": "console", "identitystore": "api", "identitystore-scim": "scim"}
OTHER_STORE = "d-0123456789"


# --- helpers ----------------------------------------------------------------------------------


def scan_pages(state, table: str) -> int:
    dynamodb = rig.client(state, "dynamodb")
    pages, start = 0, None
    while True:
        page = dynamodb.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))
        pages += 1
        start = page.get("LastEvaluatedKey")
        if not start:
            return pages


def put_items(state, table: str, items: list[dict[str, str]]) -> None:
    dynamodb = rig.client(state, "dynamodb")
    for first in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": {k: {"S": v} for k, v in item.items()}}} for item in items[first:first + 25]]
        answer = dynamodb.batch_write_item(RequestItems={table: requests})
        assert not answer.get("UnprocessedItems"), answer["UnprocessedItems"]


def store_users(state, store_id: str) -> dict[str, dict]:
    """Every user of the identity store, as rig-admin, all pages: {UserId: user}."""
    paginator = rig.client(state, "identitystore").get_paginator("list_users")
    return {user["UserId"]: user for page in paginator.paginate(IdentityStoreId=store_id) for user in page["Users"]}


def delete_store_user(state, store_id: str, user_id: str) -> None:
    rig.client(state, "identitystore").delete_user(IdentityStoreId=store_id, UserId=user_id)


def registry_item(user_id: str, user_name: str, store_id: str, origin: str, **dates: str) -> dict[str, str]:
    item = {"UserId": user_id, "UserName": user_name, "IdentityStoreId": store_id, "Origin": origin,
            "UpdatedAt": "2026-01-05T08:00:00Z"}
    item.update({name: value for name, value in dates.items() if value is not None})
    return item


def run(product: str, events: list, environment: dict):
    """Runs the function; checks what every run must show: no init error, every event answered,
    every log line JSON with the docs/contract.md fields, an INFO line inside each successful invocation."""
    started = utc_now()
    result = run_function(product, events, environment)
    finished = utc_now() + dt.timedelta(seconds=1)
    assert result.init_error is None, result.init_error
    assert not result.timed_out
    assert [invocation.status for invocation in result.invocations].count("pending") == 0, \
        "the runtime loop stopped before answering every event"
    lines = log_lines(result)
    for line in lines:
        assert {"timestamp", "level", "message"} <= line.keys(), line
        assert line["level"] in {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}, line
        dt.datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))
    request_ids = {invocation.request_id for invocation in result.invocations}
    assert all(line["requestId"] in request_ids for line in lines if "requestId" in line)
    for invocation in result.invocations:
        if invocation.status == "success":
            assert any(line.get("requestId") == invocation.request_id and line["level"] == "INFO" for line in lines), \
                f"no INFO line inside invocation {invocation.request_id}"
        else:
            assert invocation.error_type_header == invocation.error.get("errorType")
    return result, started, finished


def assert_updated_at(item: dict, started: dt.datetime, finished: dt.datetime) -> None:
    assert ISO_SECOND.match(item["UpdatedAt"]), item["UpdatedAt"]
    assert started <= parse_iso(item["UpdatedAt"]) <= finished, (item["UpdatedAt"], started, finished)


@pytest.fixture(scope="module")
def store(state, sso) -> str:
    return sso["identityStoreId"]


# --- registry-writer: CreateUser --------------------------------------------------------------


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_writer_registers_a_created_user_from_each_source(rig_path, state, sso, store, source):
    table = new_table(rig_path)
    user = create_store_user(state, store, "newhire")
    created = utc_now() - dt.timedelta(minutes=3, seconds=17)
    record = ct.create_user(source, user["userId"], user["userName"], created, identity_store_id=store)
    environment = environment_for(state, sso, rig_path, "registry-writer", table)

    result, started, finished = run("registry-writer", [eventbridge(record)], environment)

    invocation = result.invocations[0]
    assert invocation.status == "success", invocation.error
    items = table_items(state, table)
    assert list(items) == [user["userId"]]
    item = items[user["userId"]]
    assert_updated_at(item, started, finished)
    assert item == {
        "UserId": user["userId"], "UserName": user["userName"], "DisplayName": user["displayName"],
        "IdentityStoreId": store, "Origin": SOURCES[source], "CreatedAt": iso(created), "UpdatedAt": item["UpdatedAt"],
        "UserStatus": "ENABLED",
    }


def test_writer_is_idempotent_and_never_moves_created_at(rig_path, state, sso, store):
    table = new_table(rig_path)
    user = create_store_user(state, store, "replayed")
    environment = environment_for(state, sso, rig_path, "registry-writer", table)
    first_time = utc_now() - dt.timedelta(days=2, hours=3)
    original = ct.create_user("identitystore", user["userId"], user["userName"], first_time, identity_store_id=store)

    result, _, _ = run("registry-writer", [eventbridge(original)], environment)
    assert result.invocations[0].status == "success", result.invocations[0].error
    after_first = table_items(state, table)
    assert after_first[user["userId"]]["CreatedAt"] == iso(first_time)

    # The monitors have remembered history since; EventBridge then delivers the event again
    # (a replay: same record, new envelope).
    signed_in, changed = iso(first_time + dt.timedelta(days=1)), iso(first_time + dt.timedelta(hours=5))
    rig.client(state, "dynamodb").update_item(
        TableName=table, Key={"UserId": {"S": user["userId"]}},
        UpdateExpression="SET LastSignInAt = :s, LastPasswordChangeAt = :p",
        ExpressionAttributeValues={":s": {"S": signed_in}, ":p": {"S": changed}})
    result, _, _ = run("registry-writer", [eventbridge(original), eventbridge(original)], environment)
    assert [i.status for i in result.invocations] == ["success", "success"], [i.error for i in result.invocations]
    items = table_items(state, table)
    assert list(items) == [user["userId"]]
    item = items[user["userId"]]
    assert item["CreatedAt"] == iso(first_time)
    assert (item["LastSignInAt"], item["LastPasswordChangeAt"]) == (signed_in, changed)
    assert item["Origin"] == "api"

    # A late event, dated later or earlier, never moves CreatedAt.
    later = ct.create_user("identitystore", user["userId"], user["userName"], first_time + dt.timedelta(hours=6),
                           identity_store_id=store)
    earlier_time = first_time - dt.timedelta(hours=1, minutes=30)
    earlier = ct.create_user("identitystore", user["userId"], user["userName"], earlier_time, identity_store_id=store)

    result, _, _ = run("registry-writer", [eventbridge(later)], environment)
    assert result.invocations[0].status == "success", result.invocations[0].error
    assert table_items(state, table)[user["userId"]]["CreatedAt"] == iso(first_time)

    result, _, _ = run("registry-writer", [eventbridge(earlier), eventbridge(later)], environment)
    assert [i.status for i in result.invocations] == ["success", "success"], [i.error for i in result.invocations]
    items = table_items(state, table)
    assert list(items) == [user["userId"]]
    item = items[user["userId"]]
    assert item["CreatedAt"] == iso(first_time)
    assert (item["LastSignInAt"], item["LastPasswordChangeAt"]) == (signed_in, changed)
    assert (item["UserName"], item["DisplayName"], item["IdentityStoreId"], item["Origin"]) == (
        user["userName"], user["displayName"], store, "api")


def test_writer_dates_a_user_a_reconcile_found_first(rig_path, state, sso, store):
    """The reconcile found the user before its CreateUser event arrived (events are best effort):
    the event brings the creation date and the origin the reconcile could not know, and history stays."""
    table = new_table(rig_path)
    user = create_store_user(state, store, "early")
    found = registry_item(user["userId"], user["userName"], store, "reconcile", LastSignInAt="2026-11-01T08:00:00Z")
    found["DisplayName"] = user["displayName"]
    put_items(state, table, [found])
    created = utc_now() - dt.timedelta(days=1, minutes=42)
    record = ct.create_user("sso-directory", user["userId"], user["userName"], created, identity_store_id=store)

    result, started, finished = run("registry-writer", [eventbridge(record)],
                                    environment_for(state, sso, rig_path, "registry-writer", table))

    assert result.invocations[0].status == "success", result.invocations[0].error
    item = table_items(state, table)[user["userId"]]
    assert_updated_at(item, started, finished)
    assert (item["CreatedAt"], item["Origin"]) == (iso(created), "console")
    assert item["LastSignInAt"] == found["LastSignInAt"]
    assert (item["UserName"], item["DisplayName"], item["IdentityStoreId"]) == (user["userName"], user["displayName"], store)


def test_writer_reports_events_it_cannot_act_on_and_keeps_serving(rig_path, state, sso, store):
    table = new_table(rig_path)
    environment = environment_for(state, sso, rig_path, "registry-writer", table)
    when = utc_now() - dt.timedelta(minutes=10)
    ghost = create_store_user(state, store, "ghost")

    no_id = {}
    for source, path in (("sso-directory", ("user", "userId")), ("identitystore", ("userId",)),
                         ("identitystore-scim", ("id",))):
        record = ct.create_user(source, ghost["userId"], ghost["userName"], when, identity_store_id=store)
        holder = record["responseElements"]
        for key in path[:-1]:
            holder = holder[key]
        del holder[path[-1]]
        no_id[source] = record
    failed = ct.create_user("identitystore", ghost["userId"], ghost["userName"], when, identity_store_id=store,
                            error="AccessDeniedException")
    foreign = ct.iam_user_event("CreateUser", unique("iam-user"), when)
    good = create_store_user(state, store, "good")
    good_record = ct.create_user("sso-directory", good["userId"], good["userName"], when, identity_store_id=store)
    events = [eventbridge(no_id["sso-directory"]), eventbridge(no_id["identitystore"]),
              eventbridge(no_id["identitystore-scim"]), eventbridge(failed), eventbridge(foreign),
              {"detail-type": "AWS API Call via CloudTrail", "source": "aws.sso-directory"},  # malformed: no detail
              eventbridge(good_record)]

    result, _, _ = run("registry-writer", events, environment)

    statuses = [invocation.status for invocation in result.invocations]
    assert statuses == ["error"] * 6 + ["success"], [i.error for i in result.invocations]
    errors = [invocation.error for invocation in result.invocations[:6]]
    for error in errors:
        assert error.get("errorType") and error.get("errorMessage"), error
    for error in errors[:3]:
        assert re.search(r"user ?id", error["errorMessage"], re.I), error
    assert "AccessDeniedException" in errors[3]["errorMessage"], errors[3]
    assert "iam.amazonaws.com" in errors[4]["errorMessage"], errors[4]
    assert re.search(r"detail", errors[5]["errorMessage"], re.I), errors[5]
    # Only the good event wrote anything.
    items = table_items(state, table)
    assert list(items) == [good["userId"]]
    assert items[good["userId"]]["Origin"] == "console"
    assert items[good["userId"]]["CreatedAt"] == iso(when)


def test_writer_does_not_register_a_user_missing_from_the_store(rig_path, state, sso, store):
    table = new_table(rig_path)
    environment = environment_for(state, sso, rig_path, "registry-writer", table)
    gone = create_store_user(state, store, "shortlived")
    delete_store_user(state, store, gone["userId"])
    kept = create_store_user(state, store, "kept")
    when = utc_now() - dt.timedelta(minutes=2)
    events = [eventbridge(ct.create_user("identitystore", gone["userId"], gone["userName"], when, identity_store_id=store)),
              eventbridge(ct.create_user("identitystore", kept["userId"], kept["userName"], when, identity_store_id=store))]

    result, _, _ = run("registry-writer", events, environment)

    assert result.invocations[1].status == "success", result.invocations[1].error
    assert list(table_items(state, table)) == [kept["userId"]]


# --- registry-writer: reconcile ---------------------------------------------------------------


def test_writer_reconcile_adds_every_missing_store_user(rig_path, state, sso, store):
    table = new_table(rig_path)
    prefix = unique("recon")
    rig.call(rig_path, "create_identity_store_users", identity_store_id=store, count=105, prefix=prefix)
    store_before = store_users(state, store)
    assert len(store_before) > 100, "the store must need more than one ListUsers page"

    # Three users the registry already knows, with history the reconcile must keep, and one
    # registry user the store no longer has (the writer never removes).
    known = sorted(store_before)[:3]
    old_created = "2026-03-02T09:15:00Z"
    existing = [
        registry_item(known[0], store_before[known[0]]["UserName"], store, "console", CreatedAt=old_created,
                      LastSignInAt="2026-10-30T07:00:00Z", LastPasswordChangeAt="2026-09-01T12:00:00Z"),
        registry_item(known[1], "renamed-since", store, "scim", LastSignInAt="2026-11-01T07:00:00Z"),
        registry_item(known[2], store_before[known[2]]["UserName"], store, "api", CreatedAt=old_created),
        registry_item(str(uuid.uuid4()), "departed", store, "console", CreatedAt=old_created),
    ]
    existing[0]["DisplayName"] = store_before[known[0]].get("DisplayName", "")
    put_items(state, table, existing)
    # One user the registry knows and one it lacks are disabled in the store: both statuses are recorded.
    disabled_missing = next(user_id for user_id in sorted(store_before) if user_id not in known)
    for user_id in (known[2], disabled_missing):
        rig.call(rig_path, "set_user_status", identityStoreId=store, userId=user_id, status="DISABLED")
    store_before = store_users(state, store)
    environment = environment_for(state, sso, rig_path, "registry-writer", table)

    result, started, finished = run("registry-writer", [SCHEDULED_EVENT], environment)

    invocation = result.invocations[0]
    assert invocation.status == "success", invocation.error
    missing = set(store_before) - set(known)
    assert invocation.response["added"] == len(missing)
    assert invocation.response["storeUsers"] == len(store_before)
    items = table_items(state, table)
    assert set(items) == set(store_before) | {existing[3]["UserId"]}
    for user_id in missing:
        user, item = store_before[user_id], items[user_id]
        assert_updated_at(item, started, finished)
        expected = {"UserId": user_id, "UserName": user["UserName"], "IdentityStoreId": store,
                    # moto's users carry no ExternalIds and no CreatedAt (see the module's report)
                    "Origin": "scim" if user.get("ExternalIds") else "reconcile", "UpdatedAt": item["UpdatedAt"]}
        if user.get("DisplayName"):
            expected["DisplayName"] = user["DisplayName"]
        if user.get("CreatedAt"):
            expected["CreatedAt"] = iso(user["CreatedAt"])
        if user.get("UserStatus"):
            expected["UserStatus"] = user["UserStatus"]
        assert item == expected
    assert items[disabled_missing]["UserStatus"] == "DISABLED"
    assert items[known[2]]["UserStatus"] == "DISABLED" and items[known[0]]["UserStatus"] == "ENABLED"
    # The users it knew keep their Origin, CreatedAt (or its absence) and history.
    for before in existing:
        after = items[before["UserId"]]
        for name in ("Origin", "CreatedAt", "LastSignInAt", "LastPasswordChangeAt", "IdentityStoreId"):
            assert after.get(name) == before.get(name), (name, before, after)
    assert items[existing[3]["UserId"]] == existing[3]

    # {"reconcile": true} is the same reconcile: it adds exactly the one user created since.
    late = create_store_user(state, store, "latecomer")
    snapshot = table_items(state, table)
    result, started, finished = run("registry-writer", [{"reconcile": True}], environment)
    invocation = result.invocations[0]
    assert invocation.status == "success", invocation.error
    assert invocation.response["added"] == 1
    items = table_items(state, table)
    assert set(items) == set(snapshot) | {late["userId"]}
    assert_updated_at(items[late["userId"]], started, finished)
    assert items[late["userId"]] == {
        "UserId": late["userId"], "UserName": late["userName"], "DisplayName": late["displayName"],
        "IdentityStoreId": store, "Origin": "reconcile", "UpdatedAt": items[late["userId"]]["UpdatedAt"],
        "UserStatus": "ENABLED"}
    for user_id, before in snapshot.items():
        after = {k: v for k, v in items[user_id].items() if k != "UpdatedAt"}
        assert after == {k: v for k, v in before.items() if k != "UpdatedAt"}, user_id


# --- registry-cleaner: DeleteUser -------------------------------------------------------------


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_cleaner_removes_a_deleted_user_from_each_source(rig_path, state, sso, store, source):
    table = new_table(rig_path)
    leaving = create_store_user(state, store, "leaver")
    staying = create_store_user(state, store, "stayer")
    items = [registry_item(leaving["userId"], leaving["userName"], store, SOURCES[source], CreatedAt="2026-05-01T10:00:00Z",
                           LastSignInAt="2026-11-01T10:00:00Z"),
             registry_item(staying["userId"], staying["userName"], store, "console", CreatedAt="2026-04-01T10:00:00Z")]
    put_items(state, table, items)
    delete_store_user(state, store, leaving["userId"])
    record = ct.delete_user(source, leaving["userId"], utc_now() - dt.timedelta(minutes=1), identity_store_id=store)
    environment = environment_for(state, sso, rig_path, "registry-cleaner", table)

    result, _, _ = run("registry-cleaner", [eventbridge(record)], environment)

    assert result.invocations[0].status == "success", result.invocations[0].error
    assert table_items(state, table) == {staying["userId"]: items[1]}


def test_cleaner_accepts_unknown_users_and_refuses_failed_deletes(rig_path, state, sso, store):
    table = new_table(rig_path)
    member = create_store_user(state, store, "member")
    items = [registry_item(member["userId"], member["userName"], store, "api", CreatedAt="2026-06-01T10:00:00Z")]
    put_items(state, table, items)
    when = utc_now() - dt.timedelta(minutes=1)
    unknown = ct.delete_user("identitystore", str(uuid.uuid4()), when, identity_store_id=store)
    failed = ct.delete_user("sso-directory", member["userId"], when, identity_store_id=store, error="AccessDeniedException")
    no_id = ct.delete_user("identitystore-scim", member["userId"], when, identity_store_id=store)
    del no_id["requestParameters"]["id"]
    environment = environment_for(state, sso, rig_path, "registry-cleaner", table)

    result, _, _ = run("registry-cleaner", [eventbridge(unknown), eventbridge(failed), eventbridge(no_id)], environment)

    assert [i.status for i in result.invocations] == ["success", "error", "error"], [i.error for i in result.invocations]
    assert "AccessDeniedException" in result.invocations[1].error["errorMessage"]
    assert re.search(r"user ?id|\bid\b", result.invocations[2].error["errorMessage"], re.I)
    assert table_items(state, table) == {member["userId"]: items[0]}


# --- registry-cleaner: reconcile --------------------------------------------------------------


def present_users(state, store: str, count: int) -> dict[str, dict]:
    """At least `count` users of the store ({UserId: user}), creating some when there are fewer."""
    present = store_users(state, store)
    while len(present) < count:
        user = create_store_user(state, store, "filler")
        present[user["userId"]] = {"UserId": user["userId"], "UserName": user["userName"]}
    return present


def departed_users(state, store: str, count: int) -> list[dict]:
    """Users that were in the store and are gone, their DeleteUser events lost."""
    users = [create_store_user(state, store, "departed") for _ in range(count)]
    for user in users:
        delete_store_user(state, store, user["userId"])
    return users


def test_cleaner_reconcile_removes_only_users_gone_from_the_store(rig_path, state, sso, store):
    present = present_users(state, store, 110)
    gone = departed_users(state, store, 5)
    table = new_table(rig_path)
    # Notes make the table bigger than one Scan page (1 MB), so the cleaner must page.
    notes = "onboarding ticket; access review 2026-Q3; " * 200
    items = [registry_item(user_id, user["UserName"], store, "console", CreatedAt="2026-02-01T00:00:00Z",
                           LastSignInAt="2026-11-02T00:00:00Z") | {"Notes": notes}
             for user_id, user in present.items()]
    items += [registry_item(user["userId"], user["userName"], store, "api", CreatedAt="2026-03-01T00:00:00Z")
              for user in gone]
    # Another store's users: not in this store, and not this function's to judge.
    items += [registry_item(str(uuid.uuid4()), f"elsewhere-{n}", OTHER_STORE, "scim") for n in range(5)]
    put_items(state, table, items)
    assert scan_pages(state, table) > 1
    before = table_items(state, table)
    environment = environment_for(state, sso, rig_path, "registry-cleaner", table)

    result, _, _ = run("registry-cleaner", [SCHEDULED_EVENT], environment)

    invocation = result.invocations[0]
    assert invocation.status == "success", invocation.error
    assert invocation.response["removed"] == len(gone)
    expected = {user_id: item for user_id, item in before.items() if user_id not in {u["userId"] for u in gone}}
    assert table_items(state, table) == expected


def test_cleaner_reconcile_safety_stop(rig_path, state, sso, store):
    present = sorted(present_users(state, store, 10).items())[:10]
    gone = departed_users(state, store, 2)
    table = new_table(rig_path)
    items = [registry_item(user_id, user["UserName"], store, "console", CreatedAt="2026-02-01T00:00:00Z")
             for user_id, user in present]
    items += [registry_item(user["userId"], user["userName"], store, "console") for user in gone]
    put_items(state, table, items)
    before = table_items(state, table)
    assert len(before) == 12  # 2 of 12 gone: 16.7 %, more than the default 10 %

    result, _, _ = run("registry-cleaner", [{"reconcile": True}],
                       environment_for(state, sso, rig_path, "registry-cleaner", table))

    invocation = result.invocations[0]
    assert invocation.status == "error", invocation.response
    error = invocation.error
    assert error.get("errorType") and not error["errorType"].startswith("Runtime."), error
    assert re.search(r"(?<![\d.])2(?![\d.])", error["errorMessage"]) and re.search(r"(?<![\d.])12(?![\d.])", error["errorMessage"]), error
    assert table_items(state, table) == before

    # A higher limit lets the same reconcile through.
    result, _, _ = run("registry-cleaner", [{"reconcile": True}],
                       environment_for(state, sso, rig_path, "registry-cleaner", table, RECONCILE_MAX_REMOVE_PERCENT="20"))
    assert result.invocations[0].status == "success", result.invocations[0].error
    assert table_items(state, table) == {user_id: before[user_id] for user_id, _ in present}


def test_cleaner_reconcile_removes_exactly_the_limit(rig_path, state, sso, store):
    present = sorted(present_users(state, store, 9).items())[:9]
    gone = departed_users(state, store, 1)
    table = new_table(rig_path)
    items = [registry_item(user_id, user["UserName"], store, "api") for user_id, user in present]
    items += [registry_item(gone[0]["userId"], gone[0]["userName"], store, "api")]
    put_items(state, table, items)
    before = table_items(state, table)  # 1 of 10 gone: exactly 10 %, not more

    result, _, _ = run("registry-cleaner", [SCHEDULED_EVENT], environment_for(state, sso, rig_path, "registry-cleaner", table))

    assert result.invocations[0].status == "success", result.invocations[0].error
    assert result.invocations[0].response["removed"] == 1
    assert table_items(state, table) == {user_id: before[user_id] for user_id, _ in present}
