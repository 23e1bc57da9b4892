"""Tests for scripts/rig/activity.py: the everyday activity the benchmark loads must be what
DEVELOPERS.md calls realistic (a sign-in every working day, each one UserAuthentication and one or
two CredentialVerification events, role sign-ins through the day) and nothing the monitors would
misread."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict


from rig import activity

STORE_ARN = "arn:aws:identitystore::111122223333:identitystore/d-1234567890"
ROLES = (("111111111111", "ReadOnly"), ("222222222222", "Developer"))
WORKERS = [activity.Worker(f"id-{i:03}", f"user{i}", ROLES if i % 2 else ()) for i in range(60)]
MONDAY = dt.datetime(2026, 11, 16, tzinfo=dt.timezone.utc)


def user_of(record: dict) -> str:
    return record["userIdentity"]["onBehalfOf"]["userId"]


def test_every_worker_signs_in_once_each_working_day_of_their_region():
    # Saturday to Sunday noon UTC a week later: Monday in Asia-Pacific begins on Sunday evening UTC.
    records = activity.between(WORKERS, MONDAY - dt.timedelta(days=2), MONDAY + dt.timedelta(days=6, hours=12), STORE_ARN)
    sign_ins = [r for r in records if r["eventName"] == "UserAuthentication"]
    days = Counter(user_of(r) for r in sign_ins)
    assert set(days) == {w.user_id for w in WORKERS}
    assert set(days.values()) == {5}, "Monday to Friday, once a day (the portal session lasts 8 hours)"
    for record in sign_ins:
        offset = activity.region_offset(int(user_of(record)[3:]))
        local = activity.parse(record["eventTime"]) + dt.timedelta(hours=offset)
        assert local.weekday() < 5 and dt.time(7, 30) <= local.time() <= dt.time(10, 31)


def test_a_sign_in_is_one_or_two_credential_verifications_then_the_authentication():
    records = activity.working_day(WORKERS, MONDAY.date(), STORE_ARN, roles=False)
    by_user = defaultdict(list)
    for record in records:
        by_user[user_of(record)].append(record)
    shapes = Counter()
    for events in by_user.values():
        names = [r["eventName"] for r in sorted(events, key=lambda r: r["eventTime"])]
        assert names[-1] == "UserAuthentication" and set(names[:-1]) == {"CredentialVerification"}
        assert all(r.get("errorCode") is None for r in events)
        assert all(r["serviceEventDetails"] == {r["eventName"]: "Success"} for r in events)
        shapes[len(names) - 1] += 1
    assert set(shapes) == {1, 2} and shapes[2] > shapes[1], "most verify a second factor"


def test_role_sign_ins_reach_only_the_workers_roles_through_the_working_day():
    records = activity.working_day(WORKERS, MONDAY.date(), STORE_ARN)
    roles = [r for r in records if r["eventName"] in ("Federate", "GetRoleCredentials")]
    first_sign_in = {}
    for r in records:
        if r["eventName"] == "CredentialVerification":
            first_sign_in.setdefault(user_of(r), activity.parse(r["eventTime"]))
    for record in roles:
        worker = WORKERS[int(user_of(record)[3:])]
        details = record["serviceEventDetails"]
        assert (details["account_id"], details["role_name"]) in worker.roles
        assert record["readOnly"] is True and record["eventSource"] == "sso.amazonaws.com"
        after = activity.parse(record["eventTime"]) - first_sign_in[user_of(record)]
        assert dt.timedelta(0) < after <= dt.timedelta(hours=activity.WORKING_HOURS, minutes=2)
    per_worker = Counter(user_of(r) for r in roles)
    assert set(per_worker) == {w.user_id for w in WORKERS if w.roles}
    fewest = activity.CONSOLE_SESSIONS[0] + activity.CLI_REFRESHES[0]
    most = activity.CONSOLE_SESSIONS[1] + activity.CLI_REFRESHES[1]
    assert all(fewest <= n <= most for n in per_worker.values())


def test_weekends_are_quiet_and_the_same_arguments_give_the_same_records():
    saturday = (MONDAY - dt.timedelta(days=2)).date()
    assert activity.working_day(WORKERS, saturday, STORE_ARN) == []
    start, end = MONDAY + dt.timedelta(hours=7), MONDAY + dt.timedelta(hours=9)
    first = activity.between(WORKERS, start, end, STORE_ARN)
    assert first == activity.between(WORKERS, start, end, STORE_ARN)
    assert first and all(start <= activity.parse(r["eventTime"]) < end for r in first)
    assert [r["eventTime"] for r in first] == sorted(r["eventTime"] for r in first)
