"""Tests for scripts/rig/cloudtrail_fake.py, driven through boto3's real cloudtrail client.

The fake runs as a subprocess, exactly as the rig starts it, and every API call is signed by
botocore, so the SigV4 check, the JSON 1.1 framing and the response shapes are all exercised
against an independent implementation of the protocol. Records come from cloudtrail_events.
"""
from __future__ import annotations

import datetime as dt
import http.client
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from unittest import mock

import boto3
import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from rig import cloudtrail_events as ce

REPO = Path(__file__).resolve().parents[2]
FAKE = REPO / "scripts" / "rig" / "cloudtrail_fake.py"


KEY, SECRET = "AKIDCLOUDTRAILRIG001", "rig-secret-for-tests"
STORE = "eds-rig-0000000001"
STORE_ARN = f"arn:aws:cloudtrail:us-east-1:{ce.ACCOUNT_ID}:eventdatastore/{STORE}"
TEST_CONFIG = {"lookupEventsRatePerSecond": 0, "throttleNextLookups": 0, "lakeQueryRunningPolls": 2,
               "lakeQueryNeverFinishes": False, "latencyMs": 0}
LONG_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."


def start_fake(tmp: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """Start the fake as the rig does and return it with its base URL once it listens."""
    port_file = tmp / "port"
    env = {"PATH": "/usr/bin:/bin", "CLOUDTRAIL_FAKE_ACCESS_KEYS": json.dumps({KEY: SECRET})}
    proc = subprocess.Popen([sys.executable, str(FAKE), "--port", "0", "--port-file", str(port_file), *args],
                            env=env, stdout=subprocess.DEVNULL, stderr=open(tmp / "stderr", "w"))
    deadline = time.monotonic() + 30
    while not port_file.exists():
        assert proc.poll() is None, (tmp / "stderr").read_text()
        assert time.monotonic() < deadline, "fake did not start"
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text()}"


def admin(base: str, method: str, path: str, data=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if data is None else json.dumps(data).encode())
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)


def client(base: str, key: str = KEY, secret: str = SECRET, token: str | None = None, validate: bool = True):
    return boto3.client("cloudtrail", endpoint_url=base, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, aws_session_token=token,
                        config=Config(retries={"total_max_attempts": 1}, parameter_validation=validate))


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def signed_post(base: str, target: str, payload: dict, conn: http.client.HTTPConnection | None = None):
    """A request signed by botocore's SigV4 but sent raw, as the Swift client sends it."""
    body = json.dumps(payload).encode()
    request = AWSRequest("POST", base + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
    botocore.auth.SigV4Auth(Credentials(KEY, SECRET), "cloudtrail", "us-east-1").add_auth(request)
    conn = conn or http.client.HTTPConnection(base.removeprefix("http://"))
    conn.request("POST", "/", body=body, headers=dict(request.headers.items()))
    resp = conn.getresponse()
    return resp.status, resp.headers, json.loads(resp.read())


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    proc, base = start_fake(tmp_path_factory.mktemp("cloudtrail_fake"))
    yield base
    proc.terminate()
    assert proc.wait(timeout=10) == 0


@pytest.fixture(autouse=True)
def clean(request):
    """Each test starts with no events, zeroed counters and unthrottled, two-poll Lake queries."""
    if "fake" in request.fixturenames:
        base = request.getfixturevalue("fake")
        admin(base, "DELETE", "/_fake/events")
        admin(base, "DELETE", "/_fake/stats")
        admin(base, "POST", "/_fake/config", TEST_CONFIG)

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def load(base: str, records: list) -> None:
    assert admin(base, "POST", "/_fake/events", records)["stored"] == len(records)


# ---------------------------------------------------------------- LookupEvents

def test_lookup_events_pages_50_50_20_newest_first(fake):
    records = [ce.sign_in(f"user-{i:03}", f"name{i}", NOW - dt.timedelta(minutes=i)) for i in range(120)]
    load(fake, records[::-1])  # stored out of order on purpose
    ct, pages, token = client(fake), [], None
    while True:
        resp = ct.lookup_events(**({"NextToken": token} if token else {}))
        pages.append(resp["Events"])
        token = resp.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [50, 50, 20]
    events = [e for p in pages for e in p]
    assert [json.loads(e["CloudTrailEvent"]) for e in events] == records
    times = [e["EventTime"] for e in events]
    assert times == sorted(times, reverse=True) and len(set(times)) == 120
    first = events[0]
    assert (first["EventName"], first["EventSource"], first["ReadOnly"]) == (
        "UserAuthentication", "signin.amazonaws.com", "false")
    assert first["EventId"] == records[0]["eventID"] and first["Resources"] == []
    assert "Username" not in first  # the current format names no user


def test_lookup_events_time_range_and_90_day_window(fake):
    days = {1: "recent", 10: "older", 89: "edge", 91: "expired"}
    load(fake, [ce.sign_in(name, name, NOW - dt.timedelta(days=d)) for d, name in days.items()])
    ct = client(fake)
    ids = lambda **kw: [json.loads(e["CloudTrailEvent"])["userIdentity"]["onBehalfOf"]["userId"]  # noqa: E731
                        for e in ct.lookup_events(**kw)["Events"]]
    assert ids() == ["recent", "older", "edge"]
    assert ids(StartTime=NOW - dt.timedelta(days=365)) == ["recent", "older", "edge"]
    assert ids(StartTime=NOW - dt.timedelta(days=10), EndTime=NOW - dt.timedelta(days=1)) == ["recent", "older"]
    assert ids(EndTime=NOW - dt.timedelta(days=5)) == ["older", "edge"]
    with pytest.raises(ClientError) as err:
        ct.lookup_events(StartTime=NOW, EndTime=NOW - dt.timedelta(days=1))
    assert error_code(err) == "InvalidTimeRangeException"


def test_lookup_events_attribute_filters(fake):
    load(fake, [ce.sign_in("u-1", "alice", NOW - dt.timedelta(hours=1), old_format=True),
                ce.sign_in("u-2", "bob", NOW - dt.timedelta(hours=2)),
                ce.sign_in("u-3", "carol", NOW - dt.timedelta(hours=3), kind="Authenticate", old_format=True),
                ce.role_sign_in("u-2", "bob", NOW - dt.timedelta(hours=4), "444455556666", "ReadOnly"),
                ce.password_change("u-1", NOW - dt.timedelta(hours=5))])
    ct = client(fake)

    def names(key, value):
        attrs = [{"AttributeKey": key, "AttributeValue": value}]
        return [(e["EventName"], e.get("Username")) for e in ct.lookup_events(LookupAttributes=attrs)["Events"]]

    assert names("Username", "alice") == [("UserAuthentication", "alice")]
    assert names("Username", "carol") == [("Authenticate", "carol")]  # from additionalEventData.UserName
    assert names("EventName", "GetRoleCredentials") == [("GetRoleCredentials", None)]
    assert names("EventSource", "sso-directory.amazonaws.com") == [("UpdatePassword", None)]
    assert names("ReadOnly", "true") == [("GetRoleCredentials", None)]
    with pytest.raises(ClientError) as err:
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "X"},
                                           {"AttributeKey": "Username", "AttributeValue": "Y"}])
    assert error_code(err) == "InvalidLookupAttributesException"


def test_lookup_by_event_name_pages_through_one_name_among_many(fake):
    """The fake indexes records by name; a read of one name within a time range must still see
    each of its events once, newest first, across pages and across events of the same second."""
    times = [NOW - dt.timedelta(minutes=m) for m in range(0, 300, 2)]
    records = [ce.sign_in(f"u-{i:03}", None, when, kind=kind)
               for i, when in enumerate(times) for kind in ("UserAuthentication", "CredentialVerification")]
    records += [ce.sign_in(f"u-{i:03}b", None, when) for i, when in enumerate(times[::10])]  # same second
    load(fake, records)
    start, end = NOW - dt.timedelta(minutes=250), NOW - dt.timedelta(minutes=10)
    expected = sorted((r for r in records if r["eventName"] == "UserAuthentication"
                       and start <= dt.datetime.fromisoformat(r["eventTime"].replace("Z", "+00:00")) <= end),
                      key=lambda r: r["eventTime"], reverse=True)
    ct, read, token = client(fake), [], None
    while True:
        page = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "UserAuthentication"}],
                                StartTime=start, EndTime=end, **({"NextToken": token} if token else {}))
        read += [e["EventId"] for e in page["Events"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(read) == len(set(read)) == len(expected) == 121 + 12  # every 2 minutes in 10..250, and 20..240 twice
    assert set(read) == {r["eventID"] for r in expected}
    stamps = [r["eventTime"] for r in expected]
    assert [next(r["eventTime"] for r in records if r["eventID"] == i) for i in read] == stamps


def test_lookup_events_rejects_bad_max_results_and_tokens(fake):
    load(fake, [ce.sign_in(f"u{i}", None, NOW - dt.timedelta(minutes=i)) for i in range(3)])
    ct = client(fake)
    for bad in (51, 0):
        with pytest.raises(ClientError) as err:
            client(fake, validate=False).lookup_events(MaxResults=bad)
        assert error_code(err) == "InvalidMaxResultsException"
    token = ct.lookup_events(MaxResults=1)["NextToken"]
    assert len(ct.lookup_events(MaxResults=2, NextToken=token)["Events"]) == 2
    for kwargs in ({"NextToken": "not-a-token"},
                   {"NextToken": token, "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "X"}]}):
        with pytest.raises(ClientError) as err:
            ct.lookup_events(**kwargs)
        assert error_code(err) == "InvalidNextTokenException"


def test_lookup_events_throttles_above_two_per_second_per_account(fake):
    admin(fake, "POST", "/_fake/keys", {"AKIDCLOUDTRAILRIG005": "s5"})
    admin(fake, "POST", "/_fake/config", {"lookupEventsRatePerSecond": 2})
    ct, other = client(fake), client(fake, key="AKIDCLOUDTRAILRIG005", secret="s5")
    ct.lookup_events()
    ct.lookup_events()
    with pytest.raises(ClientError) as err:
        other.lookup_events()  # another key of the same account shares the limit
    assert error_code(err) == "ThrottlingException"
    assert err.value.response["Error"]["Message"] == "Rate exceeded"
    time.sleep(1.1)
    for _ in range(5):  # spaced calls stay within the rate
        ct.lookup_events()
        time.sleep(0.6)
    stats = admin(fake, "GET", "/_fake/stats")
    assert stats["throttled"] == 1 and stats["operations"]["LookupEvents"] == 8


def test_a_count_of_throttled_lookups_whatever_the_pace(fake):
    admin(fake, "POST", "/_fake/keys", {"AKIDCLOUDTRAILRIG002": "second-secret"})
    admin(fake, "POST", "/_fake/config", {"throttleNextLookups": 2})
    first, second = client(fake), client(fake, key="AKIDCLOUDTRAILRIG002", secret="second-secret")
    for ct in (first, second):  # the count is spent across keys, however slowly the calls come
        with pytest.raises(ClientError) as err:
            ct.lookup_events()
        assert error_code(err) == "ThrottlingException"
        time.sleep(1.1)
    assert "Events" in first.lookup_events()
    assert admin(fake, "GET", "/_fake/stats")["throttled"] == 2
    assert admin(fake, "POST", "/_fake/config", {})["throttleNextLookups"] == 0


def test_a_key_with_an_allow_list_is_refused_the_other_actions(fake):
    admin(fake, "POST", "/_fake/keys", {"AKIDCLOUDTRAILRIG003": {"secret": "s3", "allow": ["cloudtrail:Lookup*"]}})
    limited = client(fake, key="AKIDCLOUDTRAILRIG003", secret="s3")
    assert "Events" in limited.lookup_events()
    with pytest.raises(ClientError) as err:
        limited.start_query(QueryStatement=f"SELECT eventID FROM {STORE}")
    assert error_code(err) == "AccessDeniedException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "not authorized to perform: cloudtrail:StartQuery" in err.value.response["Error"]["Message"]
    stats = admin(fake, "GET", "/_fake/stats")
    assert stats["rejected"] == {"AccessDeniedException": 1} and "StartQuery" not in stats["operations"]
    # Registered again without a list, the key may do everything; a malformed entry is refused.
    admin(fake, "POST", "/_fake/keys", {"AKIDCLOUDTRAILRIG003": "s3"})
    assert limited.start_query(QueryStatement=f"SELECT eventID FROM {STORE}")["QueryId"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        admin(fake, "POST", "/_fake/keys", {"AKIDCLOUDTRAILRIG004": {"secret": "s4", "allow": "cloudtrail:*"}})
    assert refused.value.code == 400


def test_config_refuses_unknown_knobs_wrong_types_and_negative_counts(fake):
    for body in ({"throttleNextLookups": -1}, {"lookupEventsRatePerSecond": "fast"}, {"unknown": 1}, [1]):
        with pytest.raises(urllib.error.HTTPError) as err:
            admin(fake, "POST", "/_fake/config", body)
        assert err.value.code == 400
    assert admin(fake, "POST", "/_fake/config", {})["throttleNextLookups"] == 0


# ---------------------------------------------------------------- authentication and protocol

def test_signature_problems_are_rejected_like_aws(fake):
    with pytest.raises(ClientError) as err:
        client(fake, secret="wrong-secret").lookup_events()
    assert error_code(err) == "InvalidSignatureException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "The Canonical String for this request should have been" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        client(fake, key="AKIDUNKNOWN000000000").lookup_events()
    assert error_code(err) == "UnrecognizedClientException"
    stale = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=6)
    with mock.patch("botocore.auth.get_current_datetime", return_value=stale), pytest.raises(ClientError) as err:
        client(fake).lookup_events()
    assert error_code(err) == "InvalidSignatureException"
    assert err.value.response["Error"]["Message"].startswith("Signature expired: ")
    assert admin(fake, "GET", "/_fake/stats")["rejected"] == {"InvalidSignatureException": 2,
                                                              "UnrecognizedClientException": 1}


def test_keys_added_at_runtime_and_session_tokens_are_accepted(fake):
    with pytest.raises(ClientError):
        client(fake, key="AKIDADDEDLATER000001", secret="later").lookup_events()
    admin(fake, "POST", "/_fake/keys", {"AKIDADDEDLATER000001": "later"})
    assert client(fake, key="AKIDADDEDLATER000001", secret="later").lookup_events()["Events"] == []
    assert client(fake, token="FwoGZXIvYXdzEXAMPLESESSIONTOKEN").lookup_events()["Events"] == []


def test_short_target_keep_alive_and_error_shape(fake):
    conn = http.client.HTTPConnection(fake.removeprefix("http://"))
    status, headers, body = signed_post(fake, "CloudTrail_20131101.LookupEvents", {}, conn)
    assert (status, body) == (200, {"Events": []}) and headers["Content-Type"] == "application/x-amz-json-1.1"
    status, headers, body = signed_post(fake, LONG_TARGET + "NoSuchOperation", {}, conn)  # same connection
    assert status == 400 and body["__type"] == "UnknownOperationException" and headers["x-amzn-RequestId"]
    status, _, body = signed_post(fake, LONG_TARGET + "LookupEvents", {"StartTime": "2026-01-01T00:00:00Z"}, conn)
    assert status == 400 and body["__type"] == "SerializationException"  # timestamps travel as epoch numbers
    conn.close()
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(fake + "/", data=b"{}", method="POST"))
    assert err.value.code == 403 and json.load(err.value)["__type"] == "MissingAuthenticationTokenException"


# ---------------------------------------------------------------- Lake

def wait_finished(ct, query_id: str) -> list:
    """Poll DescribeQuery until the query leaves QUEUED/RUNNING; returns the statuses seen."""
    seen = [ct.describe_query(QueryId=query_id)["QueryStatus"]]
    while seen[-1] in ("QUEUED", "RUNNING"):
        seen.append(ct.describe_query(QueryId=query_id)["QueryStatus"])
    return seen


def test_lake_query_is_queued_then_running_then_finished(fake):
    load(fake, [ce.sign_in("u-1", None, NOW - dt.timedelta(days=3)), ce.sign_in("u-2", None, NOW)])
    ct = client(fake)
    sql = (f"SELECT eventID, eventTime FROM {STORE} WHERE eventTime >= "
           f"'{(NOW - dt.timedelta(days=7)):%Y-%m-%d %H:%M:%S}' ORDER BY eventTime DESC")
    query_id = ct.start_query(QueryStatement=sql)["QueryId"]
    described = ct.describe_query(QueryId=query_id, EventDataStore=STORE_ARN)
    assert (described["QueryStatus"], described["QueryString"]) == ("QUEUED", sql)
    running = ct.get_query_results(QueryId=query_id)
    assert running["QueryStatus"] == "RUNNING" and running["QueryResultRows"] == []
    done = ct.get_query_results(QueryId=query_id)
    assert done["QueryStatus"] == "FINISHED" and "NextToken" not in done
    assert [row[1]["eventtime"] for row in done["QueryResultRows"]] == [
        f"{NOW:%Y-%m-%d %H:%M:%S}.000", f"{NOW - dt.timedelta(days=3):%Y-%m-%d %H:%M:%S}.000"]
    assert done["QueryStatistics"]["TotalResultsCount"] == 2
    stats = ct.describe_query(QueryId=query_id)["QueryStatistics"]
    assert (stats["EventsMatched"], stats["EventsScanned"]) == (2, 2)
    [recorded] = admin(fake, "GET", "/_fake/stats")["queries"][-1:]
    assert (recorded["sql"], recorded["resultPages"], recorded["polls"]) == (sql, 1, 4)


def test_lake_results_page_at_max_query_results(fake):
    load(fake, [ce.role_sign_in("u-1", None, NOW - dt.timedelta(minutes=i), f"{i:012}", "Admin") for i in range(25)])
    ct = client(fake)
    admin(fake, "POST", "/_fake/config", {"lakeQueryRunningPolls": 0})
    query_id = ct.start_query(QueryStatement=f"SELECT serviceEventDetails['account_id'] AS account "
                                             f"FROM {STORE} ORDER BY account")["QueryId"]
    accounts, sizes, token = [], [], None
    while True:
        page = ct.get_query_results(QueryId=query_id, MaxQueryResults=10, **({"NextToken": token} if token else {}))
        sizes.append(page["QueryStatistics"]["ResultsCount"])
        assert page["QueryStatistics"]["TotalResultsCount"] == 25
        accounts += [row[0]["account"] for row in page["QueryResultRows"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sizes == [10, 10, 5] and accounts == [f"{i:012}" for i in range(25)]
    assert admin(fake, "GET", "/_fake/stats")["queries"][-1]["resultPages"] == 3
    for bad in ({"MaxQueryResults": 1001}, {"MaxQueryResults": 0}):
        with pytest.raises(ClientError) as err:
            client(fake, validate=False).get_query_results(QueryId=query_id, **bad)
        assert error_code(err) == "InvalidMaxResultsException"
    with pytest.raises(ClientError) as err:
        ct.get_query_results(QueryId=query_id, NextToken="bogus-token")
    assert error_code(err) == "InvalidNextTokenException"


def test_lake_query_that_never_finishes_can_be_cancelled(fake):
    admin(fake, "POST", "/_fake/config", {"lakeQueryNeverFinishes": True})
    ct = client(fake)
    query_id = ct.start_query(QueryStatement=f"SELECT count(*) FROM {STORE}")["QueryId"]
    statuses = [ct.describe_query(QueryId=query_id)["QueryStatus"] for _ in range(10)]
    assert statuses == ["QUEUED"] + ["RUNNING"] * 9
    assert ct.get_query_results(QueryId=query_id)["QueryResultRows"] == []
    assert ct.cancel_query(QueryId=query_id)["QueryStatus"] == "CANCELLED"
    assert ct.describe_query(QueryId=query_id)["QueryStatus"] == "CANCELLED"
    with pytest.raises(ClientError) as err:
        ct.describe_query(QueryId="00000000-0000-0000-0000-000000000000")
    assert error_code(err) == "QueryIdNotFoundException"


def test_lake_rejects_invalid_sql_and_unknown_stores(fake):
    ct = client(fake)
    cases = {f"SELEC eventID FROM {STORE}": ("InvalidQueryStatementException", "syntax error"),
             f"SELECT noSuchColumn FROM {STORE}": ("InvalidQueryStatementException", "noSuchColumn"),
             f"DELETE FROM {STORE}": ("InvalidQueryStatementException", "SELECT"),
             f"SELECT 1 FROM {STORE}; SELECT 2 FROM {STORE}": ("InvalidQueryStatementException", "SELECT"),
             "SELECT eventID FROM eds-rig-0000000404": ("EventDataStoreNotFoundException", "eds-rig-0000000404"),
             "SELECT eventID FROM arn:aws:cloudtrail:us-east-1:1:eventdatastore/nope": (
                 "EventDataStoreNotFoundException", "nope")}
    for sql, (code, text) in cases.items():
        with pytest.raises(ClientError) as err:
            ct.start_query(QueryStatement=sql)
        assert error_code(err) == code and text in err.value.response["Error"]["Message"], sql


def test_lake_query_failing_at_run_time_reports_failed(fake):
    load(fake, [ce.sign_in("u-1", None, NOW)])
    admin(fake, "POST", "/_fake/config", {"lakeQueryRunningPolls": 1})
    ct = client(fake)
    query_id = ct.start_query(QueryStatement=f"SELECT CAST(eventName AS INTEGER) FROM {STORE}")["QueryId"]
    assert wait_finished(ct, query_id) == ["QUEUED", "FAILED"]
    failed = ct.get_query_results(QueryId=query_id)
    assert failed["QueryStatus"] == "FAILED" and "Conversion Error" in failed["ErrorMessage"]


def test_lake_result_columns_are_lowercase_as_trino_names_them(fake):
    load(fake, [ce.sign_in("u-1", None, NOW)])
    admin(fake, "POST", "/_fake/config", {"lakeQueryRunningPolls": 0})
    ct = client(fake)
    query_id = ct.start_query(QueryStatement=f"SELECT eventName, userIdentity.onBehalfOf.userId AS onBehalfOfUserId "
                                             f"FROM {STORE}")["QueryId"]
    [row] = ct.get_query_results(QueryId=query_id)["QueryResultRows"]
    assert row == [{"eventname": "UserAuthentication"}, {"onbehalfofuserid": "u-1"}]


def test_lake_struct_and_map_columns(fake):
    load(fake, [ce.sign_in("u-new", None, NOW - dt.timedelta(hours=1)),
                ce.sign_in("u-old", "olduser", NOW - dt.timedelta(hours=2), old_format=True),
                ce.sign_in("u-bad", None, NOW - dt.timedelta(hours=3), kind="CredentialVerification", success=False),
                ce.role_sign_in("u-new", None, NOW - dt.timedelta(hours=4), "444455556666", "PowerUser"),
                ce.role_sign_in("u-old", "olduser", NOW - dt.timedelta(hours=5), "777788889999", "ReadOnly",
                                kind="Federate", old_format=True)])
    admin(fake, "POST", "/_fake/config", {"lakeQueryRunningPolls": 0})
    admin(fake, "POST", "/_fake/event-data-stores", {"id": "eds-rig-0000000002"})
    ct = client(fake)

    def rows(sql):
        result = ct.get_query_results(QueryId=ct.start_query(QueryStatement=sql)["QueryId"])
        assert result["QueryStatus"] == "FINISHED", result
        return [dict(kv for cell in row for kv in cell.items()) for row in result["QueryResultRows"]]

    since = f"eventTime >= '{(NOW - dt.timedelta(days=1)):%Y-%m-%d %H:%M:%S}'"
    assert rows(f"SELECT userIdentity.onBehalfOf.userId AS uid, userIdentity.userName AS name, "
                f"serviceEventDetails['CredentialVerification'] AS verdict FROM {STORE} WHERE {since} "
                f"AND eventSource = 'signin.amazonaws.com' ORDER BY eventTime DESC") == [
        {"uid": "u-new"}, {"name": "olduser"}, {"uid": "u-bad", "verdict": "Failure"}]  # NULL cells are left out
    assert rows(f"SELECT eventName, serviceEventDetails['role_name'] AS role, "
                f"element_at(serviceEventDetails, 'account_id') AS account, serviceEventDetails AS details "
                f"FROM {STORE_ARN} WHERE {since} AND eventSource = 'sso.amazonaws.com' ORDER BY eventTime DESC") == [
        {"eventname": "GetRoleCredentials", "role": "PowerUser", "account": "444455556666",
         "details": "{role_name=PowerUser, account_id=444455556666}"},
        {"eventname": "Federate", "role": "ReadOnly", "account": "777788889999",
         "details": "{role_name=ReadOnly, account_id=777788889999}"}]
    assert rows(f"SELECT count(*) AS n, max(additionalEventData['CredentialType']) AS cred "
                f"FROM eds-rig-0000000002 WHERE {since} AND readOnly = false") == [{"n": "3", "cred": "PASSWORD"}]


# ---------------------------------------------------------------- process

def test_non_loopback_host_is_refused(tmp_path):
    for host in ("0.0.0.0", "192.0.2.10", "::"):
        done = subprocess.run([sys.executable, str(FAKE), "--host", host, "--port", "0"],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 2 and "non-loopback" in done.stderr, host


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_on_signal_with_a_connection_open(tmp_path, sig):
    proc, base = start_fake(tmp_path)
    conn = http.client.HTTPConnection(base.removeprefix("http://"))
    assert signed_post(base, LONG_TARGET + "LookupEvents", {}, conn)[0] == 200  # keep-alive stays open
    proc.send_signal(sig)
    assert proc.wait(timeout=10) == 0
    conn.close()


# ---------------------------------------------------------------- record builders

def test_record_builders_put_ids_where_design_says():
    at = "2026-03-01T08:00:00Z"
    assert ce.create_user("sso-directory", "u-1", "alice", at)["responseElements"]["user"]["userId"] == "u-1"
    assert ce.create_user("identitystore", "u-2", "bob", at)["responseElements"]["userId"] == "u-2"
    assert ce.create_user("identitystore-scim.amazonaws.com", "u-3", "c", at)["responseElements"]["id"] == "u-3"
    assert ce.delete_user("identitystore", "u-2", at)["requestParameters"]["userId"] == "u-2"
    failed = ce.create_user("identitystore", "u-4", "d", at, error="ConflictException")
    assert failed["errorCode"] == "ConflictException" and failed["responseElements"] is None
    assert ce.password_change("u-5", at, by_admin=True)["requestParameters"]["userId"] == "u-5"
    assert ce.password_change("u-5", at)["userIdentity"]["onBehalfOf"]["userId"] == "u-5"
    old = ce.sign_in("u-6", "frank", at, old_format=True)
    assert old["userIdentity"]["userName"] == "frank" and "onBehalfOf" not in old["userIdentity"]
    assert ce.sign_in("u-6", "frank", at) == ce.sign_in("u-6", "frank", at)  # a rebuilt event is a replay
    assert ce.sign_in("u-6", "frank", at)["eventID"] != ce.sign_in("u-7", "frank", at)["eventID"]
    with pytest.raises(ValueError):
        ce.sign_in("u-6", "frank", at, success=False)
