"""password-expiry-monitor and inactivity-monitor end to end: the built binaries under the Runtime
API emulator, signed with their own least-privilege policies, reading a seeded registry table in
moto and CloudTrail from the fake (LookupEvents or Lake), sending alerts to a moto SQS queue.

The organisation is generated here, and every expected alert, count and write-back is worked out
here from what was seeded, following docs/contract.md ("Activity evidence", "Who is judged", "Alerts
out"), never from the function's output.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import uuid

import pytest

from conftest import (
    SCHEDULED_EVENT,
    eventbridge,
    function_credentials,
    function_environment,
    function_variables,
    log_lines,
    ISO_SECOND,
    iso,
    new_table,
    parse_iso,
    policy_values,
    render_policy,
    rig,
    run_function,
    sqs_batch,
    table_items,
    unique,
    utc_now,
)

from rig import cloudtrail_events as ct
from rig import organisation

LAKE_STORE = "eds-rig-0000000001"
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
WINDOW = 90 * DAY  # what CloudTrail keeps, and what the monitors may read
MAX_BODY_BYTES = 262_144
PASSWORD = "password-expiry-monitor"
INACTIVITY = "inactivity-monitor"
CONTROLS = {
    PASSWORD: {"alertType": "PASSWORD_EXPIRY", "variable": "PASSWORD_MAX_AGE_DAYS", "kind": "password",
               "attribute": "LastPasswordChangeAt", "other": "LastSignInAt"},
    INACTIVITY: {"alertType": "USER_INACTIVITY", "variable": "INACTIVITY_MAX_DAYS", "kind": "signin",
                 "attribute": "LastSignInAt", "other": "LastPasswordChangeAt"},
}
# The thresholds the organisation's boundary users are built around (not the defaults, so that
# the variables are seen to be read).
THRESHOLDS = {PASSWORD: (60, 10), INACTIVITY: (45, 7)}
FIRST = ["ana", "bruno", "chen", "dara", "emeka", "farah", "gus", "hana", "ivan", "jo", "kofi", "lena", "mateo",
         "nia", "omar", "priya", "quinn", "rosa", "sven", "tara", "uma", "vik", "wen", "xavi", "yara", "zane"]
LAST = ["abbott", "byrne", "costa", "diaz", "evans", "fischer", "garcia", "haddad", "ito", "jensen", "kim",
        "lopez", "moreau", "novak", "okafor", "patel", "quist", "rossi", "silva", "tanaka", "varga", "weber"]


# --- time -------------------------------------------------------------------------------------








def whole_days(since: dt.datetime, until: dt.datetime) -> int:
    """docs/contract.md: floor of the difference in seconds / 86400."""
    return int((until - since).total_seconds()) // 86400


# --- the organisation -------------------------------------------------------------------------


@dataclasses.dataclass
class Person:
    user_id: str
    user_name: str
    origin: str
    created: dt.datetime | None
    remembered: dict[str, dt.datetime | None]  # "signin" / "password" -> the registry's date
    evidence: dict[str, list[dt.datetime]] = dataclasses.field(default_factory=lambda: {"signin": [], "password": []})
    excluded: bool = False

    def item(self, store_id: str) -> dict[str, str]:
        item = {"UserId": self.user_id, "UserName": self.user_name, "DisplayName": self.user_name.split("@")[0].title(),
                "IdentityStoreId": store_id, "Origin": self.origin, "UpdatedAt": "2026-01-10T06:00:00Z"}
        if self.created:
            item["CreatedAt"] = iso(self.created)
        if self.remembered["signin"]:
            item["LastSignInAt"] = iso(self.remembered["signin"])
        if self.remembered["password"]:
            item["LastPasswordChangeAt"] = iso(self.remembered["password"])
        return item


@dataclasses.dataclass
class Organisation:
    store_id: str
    as_of: dt.datetime
    people: list[Person]
    records: list[dict]
    excluded_setting: str

    def items(self) -> list[dict[str, str]]:
        return [person.item(self.store_id) for person in self.people]


# The identity store users the Builders of the running test made.
STORE_USERS_MADE: list[tuple[object, str, str]] = []


@pytest.fixture(autouse=True)
def remove_store_users():
    """Leaves the session's identity store as the test found it: the credential report's tests
    weigh every user in it, and the writer's reconcile adds every one to its registry."""
    yield
    while STORE_USERS_MADE:
        identitystore, store_id, user_id = STORE_USERS_MADE.pop()
        try:
            identitystore.delete_user(IdentityStoreId=store_id, UserId=user_id)
        except identitystore.exceptions.ResourceNotFoundException:
            pass  # the test deleted it itself


class Builder:
    """Generates people and their CloudTrail records; each record that counts as evidence under
    docs/contract.md is noted on its person as it is made, so the expectation never parses a record.
    Each person is a user of the rig's identity store (enabled), as a registered user is: the
    monitors check the store's state of everyone they would flag."""

    def __init__(self, state: dict, sso: dict, as_of: dt.datetime, seed: int):
        self.store_id, self.as_of, self.rng = sso["identityStoreId"], as_of, random.Random(seed)
        self.arn = f"arn:aws:identitystore::{state['accountId']}:identitystore/{self.store_id}"
        self.identitystore = rig.client(state, "identitystore")
        self.people: list[Person] = []
        self.records: list[dict] = []

    def store_user(self) -> str:
        """A new user of the identity store; its id. The registry's names are the test's own.
        Removed after the test (`remove_store_users`): the store is the whole session's."""
        user = organisation.person("monitored", unique("monitored"), "Monitored", "User")
        user_id = self.identitystore.create_user(**organisation.create_user_request(user, self.store_id))["UserId"]
        STORE_USERS_MADE.append((self.identitystore, self.store_id, user_id))
        return user_id


    def ago(self, days: float) -> dt.datetime:
        return self.as_of - dt.timedelta(seconds=int(days * 86400))

    def between(self, earliest: dt.datetime, latest: dt.datetime) -> dt.datetime:
        span = int((latest - earliest).total_seconds())
        return earliest + dt.timedelta(seconds=self.rng.randint(0, max(span, 0)))

    def person(self, user_name: str, origin: str, created: dt.datetime | None, signin=None, password=None) -> Person:
        person = Person(self.store_user(), user_name, origin, created, {"signin": signin, "password": password})
        self.people.append(person)
        return person

    # evidence that counts
    def sign_in(self, person: Person, when: dt.datetime, style: str) -> None:
        kind, old = {"current": ("UserAuthentication", False), "old": ("UserAuthentication", True),
                     "verification": ("CredentialVerification", False), "verification-old": ("CredentialVerification", True),
                     "legacy": ("Authenticate", False), "legacy-old": ("Authenticate", True)}[style]
        self.records.append(ct.sign_in(person.user_id, person.user_name, when, self.arn, kind=kind, old_format=old))
        person.evidence["signin"].append(when)

    def password_change(self, person: Person, when: dt.datetime, style: str) -> None:
        self.records.append(ct.password_change(person.user_id, when, self.arn, by_admin=style == "admin",
                                               old_format=style == "old", user_name=person.user_name))
        person.evidence["password"].append(when)

    # noise that must not count
    def failed_sign_in(self, person: Person, when: dt.datetime, legacy: bool) -> None:
        kind = "Authenticate" if legacy else "CredentialVerification"
        self.records.append(ct.sign_in(person.user_id, person.user_name, when, self.arn, success=False, kind=kind,
                                       old_format=self.rng.random() < 0.3))

    def failed_password_change(self, person: Person, when: dt.datetime) -> None:
        identity = ct.user_identity(person.user_id, None, self.arn, old_format=False)
        self.records.append(ct.record(when, ct.SOURCES["sso-directory"], "UpdatePassword", identity,
                                      request={"password": ct.HIDDEN}, error="ValidationException"))

    def role_sign_in(self, person: Person, when: dt.datetime) -> None:
        kind = self.rng.choice(["Federate", "GetRoleCredentials"])
        self.records.append(ct.role_sign_in(person.user_id, person.user_name, when, "210987654321", "ReadOnlyAccess",
                                            kind=kind, identity_store_arn=self.arn))

    def outside_window_sign_in(self, person: Person, when: dt.datetime) -> None:
        self.records.append(ct.sign_in(person.user_id, person.user_name, when, self.arn))


def build_organisation(state: dict, sso: dict, as_of: dt.datetime, *, size: int = 300, seed: int = 826) -> Organisation:
    """A few hundred users: console, API, SCIM and reconcile-found users created over ~200 days,
    some with dates the registry remembers, CloudTrail sign-ins (current format by id, older
    formats by name, legacy Authenticate) and password changes over the last 88 days, failed
    sign-ins, role sign-ins and failed password changes that must not count, a few sign-ins
    older than CloudTrail's 90 days, boundary users for THRESHOLDS, and two break-glass users."""
    b = Builder(state, sso, as_of, seed)
    rng = b.rng
    recent = b.ago(88)
    for number in range(size):
        name = f"{rng.choice(FIRST)}.{rng.choice(LAST)}.{number:03d}@example.com"
        origin = rng.choices(["console", "api", "scim", "reconcile"], weights=[45, 25, 20, 10])[0]
        created = None if origin == "reconcile" and rng.random() < 0.6 else b.ago(rng.uniform(0.5, 200))
        person = b.person(name, origin, created)
        earliest = created or b.ago(200)
        if rng.random() < 0.6:
            for _ in range(rng.randint(1, 3)):
                b.sign_in(person, b.between(max(earliest, recent), b.ago(1 / 24)),
                          rng.choice(["current", "current", "old", "verification", "verification-old", "legacy", "legacy-old"]))
        if origin != "scim" and rng.random() < 0.45:
            for _ in range(rng.randint(1, 2)):
                b.password_change(person, b.between(max(earliest, recent), b.ago(1 / 24)), rng.choice(["self", "old", "admin"]))
        newest = max(person.evidence["signin"] + [earliest])
        if rng.random() < 0.2:
            b.failed_sign_in(person, b.between(max(newest, recent), b.ago(1 / 48)), legacy=rng.random() < 0.4)
        if person.evidence["signin"] and rng.random() < 0.15:
            b.role_sign_in(person, min(max(person.evidence["signin"]) + dt.timedelta(days=rng.uniform(1, 3)), b.ago(1 / 48)))
        if origin != "scim" and rng.random() < 0.08:
            b.failed_password_change(person, b.between(max(earliest, recent), b.ago(1 / 48)))
        if created and created < b.ago(130) and rng.random() < 0.25:
            b.outside_window_sign_in(person, b.between(max(created, b.ago(130)), b.ago(95)))
        for kind in ("signin", "password"):
            choice, seen = rng.random(), person.evidence[kind]
            if choice < 0.25 and (created is None or created < b.ago(92)):
                person.remembered[kind] = b.between(max(created or b.ago(200), b.ago(200)), b.ago(91))  # outlived CloudTrail
            elif choice < 0.35 and seen:
                person.remembered[kind] = min(seen)  # written by an earlier run
            elif choice < 0.42 and seen:
                person.remembered[kind] = max(seen)  # written by yesterday's run: nothing newer
    # Boundary users: exactly on and one second inside each edge of THRESHOLDS, through each kind
    # of evidence (CloudTrail, the registry's date, the creation date).
    long_ago = b.ago(150)
    for threshold, warning, kind in ((60, 10, "password"), (45, 7, "signin")):
        label = "pw" if kind == "password" else "si"
        on_limit = b.person(f"edge.{label}.limit@example.com", "console", long_ago)
        if kind == "password":
            b.password_change(on_limit, b.as_of - threshold * DAY, "self")
        else:
            b.sign_in(on_limit, b.as_of - threshold * DAY, "current")
        b.person(f"edge.{label}.limit-1s@example.com", "api", long_ago,
                 **{"signin" if kind == "signin" else "password": b.as_of - threshold * DAY + SECOND})
        b.person(f"edge.{label}.warn@example.com", "console", b.as_of - (threshold - warning) * DAY)
        inside = b.person(f"edge.{label}.warn-1s@example.com", "console", long_ago)
        if kind == "password":
            b.password_change(inside, b.as_of - (threshold - warning) * DAY + SECOND, "old")
        else:
            b.sign_in(inside, b.as_of - (threshold - warning) * DAY + SECOND, "verification-old")
    # Break-glass: would be EXPIRED under both controls, but are never alerted.
    by_name = b.person("breakglass.primary@example.com", "console", b.ago(400))
    by_id = b.person("breakglass.secondary@example.com", "reconcile", None)
    by_name.excluded = by_id.excluded = True
    # Someone no longer in the registry still shows up in CloudTrail.
    stranger = Person(str(uuid.uuid4()), "former.staff@example.com", "console", None, {"signin": None, "password": None})
    b.sign_in(stranger, b.ago(3), "current")
    b.sign_in(stranger, b.ago(4), "old")
    b.password_change(stranger, b.ago(5), "self")
    b.rng.shuffle(b.records)
    return Organisation(b.store_id, as_of, b.people, b.records, f"{by_name.user_name},{by_id.user_id}")


def expectation(org: Organisation, product: str, threshold: int, warning: int) -> dict:
    """The alert users, summary counts and write-backs docs/contract.md asks for."""
    control = CONTROLS[product]
    kind = control["kind"]
    users, writes = [], {}
    counts = {"usersChecked": 0, "expired": 0, "warning": 0, "skipped": 0, "excluded": 0}
    for person in org.people:
        cloudtrail = max((t for t in person.evidence[kind] if org.as_of - WINDOW <= t <= org.as_of), default=None)
        remembered = person.remembered[kind]
        if cloudtrail is not None and (remembered is None or cloudtrail > remembered):
            writes[person.user_id] = iso(cloudtrail)  # read once, remembered for everyone registered
        if person.excluded:
            counts["excluded"] += 1
            continue
        if product == PASSWORD and person.origin == "scim":
            counts["skipped"] += 1
            continue
        counts["usersChecked"] += 1
        known = [date for date in (cloudtrail, remembered) if date is not None]
        last = max(known) if known else person.created
        days = None if last is None else whole_days(last, org.as_of)
        if days is None or days >= threshold:
            status = "EXPIRED"
        elif days >= threshold - warning:
            status = "WARNING"
        else:
            status = None
        if status:
            counts[status.lower()] += 1
            users.append({"userId": person.user_id, "userName": person.user_name, "status": status,
                          "lastEventAt": None if last is None else iso(last), "daysSince": days})
    users.sort(key=lambda user: (user["userName"], user["userId"]))
    return {"users": users, "counts": counts, "writes": writes}


# --- the rig ----------------------------------------------------------------------------------


def clear_cloudtrail(state) -> None:
    rig.cloudtrail_admin(state, "DELETE", "events")


def seed_cloudtrail(state, records: list[dict]) -> None:
    clear_cloudtrail(state)
    stored = rig.cloudtrail_admin(state, "POST", "events", records)
    assert stored["total"] == len(records)






def new_queue(state) -> tuple[str, str]:
    sqs = rig.client(state, "sqs")
    url = sqs.create_queue(QueueName=unique("alerts"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def drain(state, queue_url: str) -> list[str]:
    """Every message body on the queue, as rig-admin."""
    sqs, bodies = rig.client(state, "sqs"), []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=600,
                                       WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return bodies
        bodies += [message["Body"] for message in messages]


def new_ledger(rig_path) -> str:
    """An empty activity ledger table: partition key UserId, sort key Scope."""
    return rig.call(rig_path, "create_table", name=unique("activity"), sort_key="Scope")["tableName"]


def monitor_environment(rig_path, state, sso, product: str, table: str, queue: tuple[str, str], ledger: str | None = None,
                        **variables) -> dict:
    """The monitor's own credentials and variables; a new, empty ledger unless `ledger` names one."""
    ledger = ledger or new_ledger(rig_path)
    topic = {"alert_topic_arn": variables["ALERT_TOPIC_ARN"]} if "ALERT_TOPIC_ARN" in variables else {}
    values = policy_values(state, sso, registry_table=table, activity_table=ledger, alert_queue_arn=queue[1],
                           event_data_store=LAKE_STORE, **topic)
    credentials = function_credentials(rig_path, product, values)
    named = function_variables(product, sso["identityStoreId"], registry_table=table, activity_table=ledger,
                               alert_queue_url=queue[0])
    return function_environment(state, credentials, **named, **variables)


def source_variables(source: str) -> dict[str, str]:
    if source == "lake":
        return {"ACTIVITY_SOURCE": "lake", "CLOUDTRAIL_LAKE_EVENT_DATA_STORE": LAKE_STORE}
    return {}  # lookup-events is the default


def run_monitor(product: str, event: dict, environment: dict):
    """One invocation; checks the run and its logs (docs/contract.md, "Settings"); returns the invocation
    and the wall-clock interval around it."""
    started = utc_now()
    result = run_function(product, [event], environment)
    finished = utc_now() + SECOND
    assert result.init_error is None, result.init_error
    assert not result.timed_out
    invocation = result.invocations[0]
    assert invocation.status == "success", invocation.error
    lines = log_lines(result)
    for line in lines:
        assert {"timestamp", "level", "message"} <= line.keys(), line
        assert line["level"] in {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}, line
        dt.datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))
        assert line.get("requestId", invocation.request_id) == invocation.request_id, line
    assert any(line["level"] == "INFO" and line.get("requestId") == invocation.request_id for line in lines), lines
    assert not [line for line in lines if line["level"] in ("ERROR", "FATAL")]
    return invocation, started, finished


def alert_users(bodies: list[str], product: str, org: Organisation, threshold: int, warning: int) -> list[dict]:
    """Checks every message's envelope and size; the users of all parts, in part order."""
    messages = [json.loads(body) for body in bodies]
    for body in bodies:
        assert len(body.encode()) <= MAX_BODY_BYTES
    messages.sort(key=lambda message: message["part"])
    for number, message in enumerate(messages, 1):
        assert set(message) == {"schemaVersion", "alertType", "generatedAt", "identityStoreId", "thresholdDays",
                                "warningDays", "part", "parts", "users"}, set(message)
        assert message["schemaVersion"] == 1
        assert message["alertType"] == CONTROLS[product]["alertType"]
        assert message["generatedAt"] == iso(org.as_of)
        assert message["identityStoreId"] == org.store_id
        assert (message["thresholdDays"], message["warningDays"]) == (threshold, warning)
        assert (message["part"], message["parts"]) == (number, len(messages))
        assert message["users"], "a part without users"
    return [user for message in messages for user in message["users"]]


def check_write_back(before: dict, after: dict, writes: dict, product: str, started, finished) -> None:
    """The newer CloudTrail dates, and nothing else, written into the registry."""
    attribute = CONTROLS[product]["attribute"]
    assert set(after) == set(before)
    for user_id, old in before.items():
        new = after[user_id]
        if user_id in writes:
            assert new[attribute] == writes[user_id], (user_id, old.get(attribute), new[attribute])
            assert ISO_SECOND.match(new["UpdatedAt"]) and started <= parse_iso(new["UpdatedAt"]) <= finished, new
            rest = {k: v for k, v in new.items() if k not in (attribute, "UpdatedAt")}
            assert rest == {k: v for k, v in old.items() if k not in (attribute, "UpdatedAt")}, user_id
        else:
            assert new == old, user_id


# --- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["lookup-events", "lake"])
@pytest.mark.parametrize("product", [PASSWORD, INACTIVITY])
def test_monitor_alerts_on_the_organisation(rig_path, state, sso, product, source):
    as_of = utc_now()
    org = build_organisation(state, sso, as_of)
    threshold, warning = THRESHOLDS[product]
    expected = expectation(org, product, threshold, warning)
    # The data exercise every branch (else the test would prove less than it claims).
    statuses = {(u["status"], u["lastEventAt"] is None) for u in expected["users"]}
    assert statuses == {("EXPIRED", False), ("WARNING", False), ("EXPIRED", True)}
    assert expected["writes"] and expected["counts"]["excluded"] == 2
    assert expected["counts"]["skipped"] > 0 if product == PASSWORD else expected["counts"]["skipped"] == 0

    seed_cloudtrail(state, org.records)
    table = new_table(rig_path, org.items())
    queue = new_queue(state)
    before = table_items(state, table)
    environment = monitor_environment(rig_path, state, sso, product, table, queue, EXCLUDED_USERS=org.excluded_setting,
                                      WARNING_DAYS=str(warning), **{CONTROLS[product]["variable"]: str(threshold)},
                                      **source_variables(source))

    invocation, started, finished = run_monitor(product, {"asOf": iso(as_of)}, environment)

    bodies = drain(state, queue[0])
    users = alert_users(bodies, product, org, threshold, warning)
    assert [u["userName"] for u in users] == [u["userName"] for u in expected["users"]]
    for got, want in zip(users, expected["users"]):
        assert got == want
    summary = invocation.response
    assert {key: summary[key] for key in expected["counts"]} == expected["counts"]
    assert summary["messagesSent"] == len(bodies) >= 1
    check_write_back(before, table_items(state, table), expected["writes"], product, started, finished)


def test_dry_run_sends_and_writes_nothing(rig_path, state, sso):
    as_of = utc_now()
    org = build_organisation(state, sso, as_of, size=120, seed=839)
    expected = expectation(org, PASSWORD, 90, 14)  # the defaults
    assert expected["counts"]["expired"] and expected["counts"]["warning"] and expected["writes"]
    seed_cloudtrail(state, org.records)
    table = new_table(rig_path, org.items())
    queue = new_queue(state)
    before = table_items(state, table)
    environment = monitor_environment(rig_path, state, sso, PASSWORD, table, queue, EXCLUDED_USERS=org.excluded_setting)

    invocation, _, _ = run_monitor(PASSWORD, {"dryRun": True, "asOf": iso(as_of)}, environment)

    summary = invocation.response
    assert {key: summary[key] for key in expected["counts"]} == expected["counts"]
    assert summary["messagesSent"] == 0
    assert drain(state, queue[0]) == []
    assert table_items(state, table) == before


def test_a_warm_process_judges_each_invocation_afresh(rig_path, state, sso):
    """A dry run, then a real one, in the same process: nothing of the first carries over."""
    as_of = utc_now()
    org = build_organisation(state, sso, as_of, size=60, seed=1201)
    expected = expectation(org, PASSWORD, 90, 14)
    assert expected["counts"]["expired"] and expected["writes"]
    seed_cloudtrail(state, org.records)
    table = new_table(rig_path, org.items())
    queue = new_queue(state)
    before = table_items(state, table)
    environment = monitor_environment(rig_path, state, sso, PASSWORD, table, queue, EXCLUDED_USERS=org.excluded_setting)

    started = utc_now()
    result = run_function(PASSWORD, [{"dryRun": True, "asOf": iso(as_of)}, {"asOf": iso(as_of)}], environment)
    finished = utc_now() + SECOND

    assert result.init_error is None and result.next_requests >= 2
    assert [i.status for i in result.invocations] == ["success", "success"], [i.error for i in result.invocations]
    dry, real = (invocation.response for invocation in result.invocations)
    assert {key: dry[key] for key in expected["counts"]} == {key: real[key] for key in expected["counts"]} == expected["counts"]
    assert (dry["dryRun"], dry["messagesSent"], dry["evidenceRecorded"]) == (True, 0, 0)
    bodies = drain(state, queue[0])
    assert real["dryRun"] is False and real["messagesSent"] == len(bodies) >= 1
    check_write_back(before, table_items(state, table), expected["writes"], PASSWORD, started, finished)


def test_nobody_flagged_sends_nothing_but_remembers(rig_path, state, sso):
    now = utc_now()
    b = Builder(state, sso, now, seed=1)
    b.person("fresh.starter@example.com", "console", now - 3 * DAY)
    regular = b.person("regular.user@example.com", "api", now - 120 * DAY, signin=now - 100 * DAY)
    b.sign_in(regular, now - 2 * DAY, "current")
    b.sign_in(regular, now - 9 * DAY, "old")
    portal = b.person("portal.user@example.com", "scim", None)
    b.sign_in(portal, now - 20 * DAY, "legacy-old")
    remembered = b.person("remembered.user@example.com", "reconcile", None, signin=now - 30 * DAY)
    b.failed_sign_in(remembered, now - DAY, legacy=False)
    writes = {regular.user_id: iso(now - 2 * DAY), portal.user_id: iso(now - 20 * DAY)}
    seed_cloudtrail(state, b.records)
    org = Organisation(b.store_id, now, b.people, b.records, "")
    table = new_table(rig_path, org.items())
    queue = new_queue(state)
    before = table_items(state, table)
    environment = monitor_environment(rig_path, state, sso, INACTIVITY, table, queue, ACTIVITY_SOURCE="lookup-events")

    invocation, started, finished = run_monitor(INACTIVITY, SCHEDULED_EVENT, environment)

    summary = invocation.response
    assert {key: summary[key] for key in ("usersChecked", "expired", "warning", "skipped", "excluded", "messagesSent")} == {
        "usersChecked": 4, "expired": 0, "warning": 0, "skipped": 0, "excluded": 0, "messagesSent": 0}
    assert drain(state, queue[0]) == []
    check_write_back(before, table_items(state, table), writes, INACTIVITY, started, finished)


def test_large_alert_is_split_into_parts_of_at_most_256_kib(rig_path, state, sso):
    as_of = utc_now()
    b = Builder(state, sso, as_of, seed=2)
    for number in range(1300):
        # Long names (Identity Center allows 128 characters) make the list pass 256 KiB.
        name = f"contractor.{number:04d}.{'x' * 90}.{b.rng.choice(LAST)}@example.com"
        b.person(name, b.rng.choice(["console", "reconcile"]), b.ago(b.rng.uniform(100, 200)) if number % 2 else None)
    org = Organisation(b.store_id, as_of, b.people, [], "")
    expected = expectation(org, INACTIVITY, 90, 14)
    assert len(expected["users"]) == 1300
    clear_cloudtrail(state)
    table = new_table(rig_path, org.items())
    queue = new_queue(state)
    environment = monitor_environment(rig_path, state, sso, INACTIVITY, table, queue)
    store_size = sum(len(page["Users"]) for page in rig.client(state, "identitystore").get_paginator("list_users")
                     .paginate(IdentityStoreId=b.store_id, PaginationConfig={"PageSize": 100}))

    rig.call(rig_path, "rig_stats", reset=True)
    invocation, _, _ = run_monitor(INACTIVITY, {"asOf": iso(as_of)}, environment)

    # 1,300 flagged users: one listing of the store (100 a page) is cheaper than one DescribeUser each.
    assert identity_store_requests(rig_path) == {"ListUsers": -(-store_size // 100)}
    bodies = drain(state, queue[0])
    assert len(bodies) >= 2
    users = alert_users(bodies, INACTIVITY, org, 90, 14)
    assert users == expected["users"]
    assert invocation.response["messagesSent"] == len(bodies)
    assert invocation.response["expired"] == 1300



# --- who the store has disabled or removed -----------------------------------------------------


def identity_store_requests(rig_path) -> dict[str, int]:
    """Identity Store requests moto has seen since the last reset, by operation."""
    operations = rig.call(rig_path, "rig_stats")["services"].get("identitystore", {}).get("operations", {})
    return {name: counts["requests"] for name, counts in operations.items()}


def test_disabled_and_deleted_users_are_counted_not_alerted_and_a_re_enabled_user_is(rig_path, state, sso):
    as_of = utc_now()
    b = Builder(state, sso, as_of, seed=3)
    # 400 recent users make the registry five ListUsers pages long: describing the three flagged
    # users is cheaper than listing, and the run must choose it.
    for number in range(400):
        b.person(f"recent.{number:03d}@example.com", "console", b.ago(5))
    active, disabled, deleted = (b.person(f"{name}.user@example.com", "console", b.ago(200)) for name in ("active", "disabled", "deleted"))
    org = Organisation(b.store_id, as_of, b.people, [], "")
    clear_cloudtrail(state)
    table = new_table(rig_path, org.items())
    queue = new_queue(state)
    environment = monitor_environment(rig_path, state, sso, INACTIVITY, table, queue)
    rig.call(rig_path, "set_user_status", identityStoreId=b.store_id, userId=disabled.user_id, status="DISABLED")
    rig.client(state, "identitystore").delete_user(IdentityStoreId=b.store_id, UserId=deleted.user_id)

    rig.call(rig_path, "rig_stats", reset=True)
    invocation, _, _ = run_monitor(INACTIVITY, {"asOf": iso(as_of)}, environment)

    summary = invocation.response
    assert (summary["usersChecked"], summary["expired"], summary["warning"], summary["disabled"], summary["gone"]) == \
        (403, 1, 0, 1, 1)
    assert identity_store_requests(rig_path) == {"DescribeUser": 3}
    [body] = drain(state, queue[0])
    assert [user["userId"] for user in json.loads(body)["users"]] == [active.user_id]

    rig.call(rig_path, "set_user_status", identityStoreId=b.store_id, userId=disabled.user_id, status="ENABLED")
    invocation, _, _ = run_monitor(INACTIVITY, {"asOf": iso(as_of)}, environment)

    summary = invocation.response
    assert (summary["expired"], summary["disabled"], summary["gone"]) == (2, 0, 1)
    [body] = drain(state, queue[0])
    assert sorted(user["userId"] for user in json.loads(body)["users"]) == sorted([active.user_id, disabled.user_id])


# --- CloudTrail read once: the activity ledger ----------------------------------------------------


def lookup_events_calls(state) -> int:
    return rig.cloudtrail_admin(state, "GET", "stats")["operations"].get("LookupEvents", 0)


def run_monitor_for(product: str, event: dict, environment: dict, timeout_seconds: float):
    """One invocation with the deadline `timeout_seconds` gives it; its response and log lines."""
    result = run_function(product, [event], environment, timeout_seconds=timeout_seconds)
    assert result.init_error is None and not result.timed_out, (result.init_error, result.timed_out)
    [invocation] = result.invocations
    assert invocation.status == "success", invocation.error
    return invocation.response, log_lines(result)


def test_a_busy_window_is_read_over_several_invocations_once_and_judged_only_when_whole(rig_path, state, sso):
    as_of = utc_now()
    org = build_organisation(state, sso, as_of, size=150, seed=977)
    b = Builder(state, sso, as_of, seed=978)
    b.people, b.records = org.people, org.records
    # A busy organisation: every working day's sign-ins of a few dozen people, each a
    # UserAuthentication and a CredentialVerification.
    busy = [person for person in org.people if not person.excluded][:40]
    for day in range(1, 60):
        for person in busy:
            when = b.ago(day - b.rng.uniform(0.2, 0.7))
            b.sign_in(person, when, "current")
            b.sign_in(person, when - dt.timedelta(seconds=40), "verification")
    expected = expectation(org, INACTIVITY, 90, 14)
    names = {record["eventName"] for record in org.records}
    per_name = {name: sum(1 for r in org.records if r["eventName"] == name and as_of - WINDOW <= parse_iso(r["eventTime"]) <= as_of)
                for name in ("UserAuthentication", "CredentialVerification", "Authenticate")}
    assert per_name["UserAuthentication"] > 2000 and "Authenticate" in names
    fewest_calls = sum(max(1, -(-count // 50)) for count in per_name.values())
    seed_cloudtrail(state, org.records)
    table, ledger = new_table(rig_path, org.items()), new_ledger(rig_path)
    queue = new_queue(state)
    environment = monitor_environment(rig_path, state, sso, INACTIVITY, table, queue, ledger=ledger,
                                      EXCLUDED_USERS=org.excluded_setting)
    rig.cloudtrail_admin(state, "DELETE", "stats")

    # A deadline that leaves a few seconds of reading (the run keeps 40 s to judge and answer).
    partial_runs, summary = 0, None
    while partial_runs < 20:
        summary, lines = run_monitor_for(INACTIVITY, {"asOf": iso(as_of)}, environment, timeout_seconds=50)
        if summary["coverageComplete"]:
            break
        partial_runs += 1
        assert (summary["messagesSent"], summary["expired"], summary["usersChecked"]) == (0, 0, 0)
        assert any(line["level"] == "WARN" and "nobody judged" in line["message"] for line in lines), lines
        assert drain(state, queue[0]) == [], "never an alert on a partial read"
    assert partial_runs >= 2, "the window should have needed several invocations"

    users = alert_users(drain(state, queue[0]), INACTIVITY, org, 90, 14)
    assert users == expected["users"]
    assert {key: summary[key] for key in expected["counts"]} == expected["counts"]
    assert (summary["coveredFrom"], summary["coveredUntil"]) == (iso(as_of - WINDOW), iso(as_of))
    items = table_items(state, table)
    for user_id, date in expected["writes"].items():
        assert items[user_id]["LastSignInAt"] == date, user_id
    # Each page read about once in all: a resumed read re-reads at most its boundary page.
    calls = lookup_events_calls(state)
    assert fewest_calls <= calls <= fewest_calls + 3 * (partial_runs + 1), (calls, fewest_calls, partial_runs)

    # A day later, only the new day (and two hours of overlap) is read.
    rig.cloudtrail_admin(state, "DELETE", "stats")
    later = as_of + DAY
    summary, _ = run_monitor_for(INACTIVITY, {"asOf": iso(later)}, environment, timeout_seconds=120)
    assert summary["coverageComplete"] and summary["coveredUntil"] == iso(later)
    assert lookup_events_calls(state) == 3, "one page an event name for a quiet day"


# --- evidence as it happens -----------------------------------------------------------------------


def ledger_items(state, ledger: str) -> dict[tuple[str, str], dict]:
    items = rig.client(state, "dynamodb").scan(TableName=ledger, ConsistentRead=True)["Items"]
    return {(item["UserId"]["S"], item["Scope"]["S"]): {k: v["S"] for k, v in item.items()} for item in items}


def test_evidence_as_it_happens_moves_dates_later_once_and_fails_only_bad_messages(rig_path, state, sso):
    now = utc_now()
    b = Builder(state, sso, now, seed=5)
    ada = b.person("ada.evidence@example.com", "console", now - 200 * DAY, signin=now - 30 * DAY)
    bo = b.person("bo.evidence@example.com", "console", now - 200 * DAY)
    org = Organisation(b.store_id, now, b.people, [], "")
    table, ledger = new_table(rig_path, org.items()), new_ledger(rig_path)
    environment = monitor_environment(rig_path, state, sso, INACTIVITY, table, new_queue(state), ledger=ledger)
    sign_in = eventbridge(ct.sign_in(ada.user_id, None, now - 2 * DAY, b.arn))
    assert sign_in["detail-type"] == "AWS Service Event via CloudTrail"

    # One event, then its replay.
    result = run_function(INACTIVITY, [sign_in, sign_in], environment)
    assert [invocation.status for invocation in result.invocations] == ["success", "success"]
    assert [i.response for i in result.invocations] == [{"recorded": 1, "unchanged": 0, "ignored": 0},
                                                        {"recorded": 0, "unchanged": 1, "ignored": 0}]
    assert table_items(state, table)[ada.user_id]["LastSignInAt"] == iso(now - 2 * DAY)

    # A batch: a newer sign-in, a body that is no EventBridge event, a role sign-in, someone not in
    # the registry, a failed verification.
    stranger = str(uuid.uuid4())
    bodies = [json.dumps(eventbridge(ct.sign_in(ada.user_id, None, now - DAY, b.arn, kind="CredentialVerification"))),
              '{"detail-type": "AWS Service Event via CloudTrail", "detail": "not a record"}',
              json.dumps(eventbridge(ct.role_sign_in(bo.user_id, None, now - 3 * DAY, "210987654321", "ReadOnly", identity_store_arn=b.arn))),
              json.dumps(eventbridge(ct.sign_in(stranger, None, now - DAY, b.arn))),
              json.dumps(eventbridge(ct.sign_in(bo.user_id, None, now - DAY, b.arn, kind="CredentialVerification", success=False)))]
    before = table_items(state, table)
    result = run_function(INACTIVITY, [sqs_batch(bodies)], environment)

    [invocation] = result.invocations
    assert invocation.status == "success", invocation.error
    assert invocation.response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    errors = [line for line in log_lines(result) if line["level"] == "ERROR"]
    assert len(errors) == 1 and "m-1" in errors[0]["message"]
    after = table_items(state, table)
    assert after[ada.user_id]["LastSignInAt"] == iso(now - DAY)
    assert after[bo.user_id] == before[bo.user_id], "a failed verification is no sign-in"
    assert set(after) == set(before), "a monitor never creates a registry item"
    role = ledger_items(state, ledger)[(bo.user_id, "role#210987654321#ReadOnly")]
    assert role["LastSignInAt"] == iso(now - 3 * DAY)
    assert not [key for key in ledger_items(state, ledger) if key[0] == stranger]


# --- alerts where people look: Security Hub findings and the alert topic --------------------------


def findings_of(state, users) -> dict[str, list[dict]]:
    """Every Security Hub finding of `users`, by user id, as rig-admin."""
    hub, found = rig.client(state, "securityhub"), {}
    for page in hub.get_paginator("get_findings").paginate(
            Filters={"GeneratorId": [{"Value": "idc-compliance/USER_INACTIVITY", "Comparison": "EQUALS"}]}):
        for finding in page["Findings"]:
            found.setdefault(finding["ProductFields"]["UserId"], []).append(finding)
    return {person.user_id: found.get(person.user_id, []) for person in users}


def findings_setup(rig_path, state, sso, seed: int, **variables):
    """Security Hub enabled; an expired, a warning and a compliant user; the monitor's environment."""
    rig.client(state, "securityhub").enable_security_hub()
    now = utc_now()
    b = Builder(state, sso, now, seed=seed)
    expired = b.person(unique("expired") + "@example.com", "console", now - 200 * DAY)
    warning = b.person(unique("warning") + "@example.com", "console", now - 200 * DAY, signin=now - 80 * DAY)
    compliant = b.person(unique("compliant") + "@example.com", "console", now - 200 * DAY, signin=now - 10 * DAY)
    clear_cloudtrail(state)
    table, queue = new_table(rig_path, Organisation(b.store_id, now, b.people, [], "").items()), new_queue(state)
    environment = monitor_environment(rig_path, state, sso, INACTIVITY, table, queue, FINDINGS="securityhub", **variables)
    return b, (expired, warning, compliant), environment, queue


def test_findings_keep_one_per_flagged_user_and_archive_the_one_fixed_by_a_sign_in(rig_path, state, sso):
    b, (expired, warning, compliant), environment, _ = findings_setup(rig_path, state, sso, seed=11)
    account = state["accountId"]

    invocation, started, _ = run_monitor(INACTIVITY, SCHEDULED_EVENT, environment)
    assert (invocation.response["findingsOpen"], invocation.response["findingsArchived"]) == (2, 0)
    found = findings_of(state, (expired, warning, compliant))
    assert [len(found[p.user_id]) for p in (expired, warning, compliant)] == [1, 1, 0]
    first = {p.user_id: found[p.user_id][0] for p in (expired, warning)}
    for person, status, severity in ((expired, "FAILED", "HIGH"), (warning, "WARNING", "MEDIUM")):
        finding = first[person.user_id]
        assert finding["Id"] == f"idc-compliance/{b.store_id}/USER_INACTIVITY/{person.user_id}"
        assert finding["ProductArn"] == f"arn:aws:securityhub:{state['region']}:{account}:product/{account}/default"
        assert (finding["GeneratorId"], finding["AwsAccountId"], finding["RecordState"]) == \
            ("idc-compliance/USER_INACTIVITY", account, "ACTIVE")
        assert finding["Compliance"] == {"Status": status, "RelatedRequirements": ["PCI DSS 8.2.6"]}
        assert finding["Severity"]["Label"] == severity
        assert finding["ProductFields"]["UserName"] == person.user_name
    assert first[expired.user_id]["ProductFields"]["DaysSince"] == "200"
    assert first[warning.user_id]["ProductFields"]["DaysSince"] == "80"

    # The expired user signs in; the next run archives exactly that finding and updates the other.
    result = run_function(INACTIVITY, [eventbridge(ct.sign_in(expired.user_id, None, utc_now() - SECOND, b.arn))], environment)
    assert result.invocations[0].response == {"recorded": 1, "unchanged": 0, "ignored": 0}
    invocation, _, _ = run_monitor(INACTIVITY, SCHEDULED_EVENT, environment)
    assert (invocation.response["findingsOpen"], invocation.response["findingsArchived"]) == (1, 1)
    found = findings_of(state, (expired, warning, compliant))
    assert [len(found[p.user_id]) for p in (expired, warning, compliant)] == [1, 1, 0], "updated, never duplicated"
    fixed, still = found[expired.user_id][0], found[warning.user_id][0]
    assert (fixed["Compliance"]["Status"], fixed["RecordState"]) == ("PASSED", "ARCHIVED")
    assert fixed["CreatedAt"] == first[expired.user_id]["CreatedAt"], "one history per user: the first raising stays"
    assert (still["Compliance"]["Status"], still["RecordState"]) == ("WARNING", "ACTIVE")
    assert still["CreatedAt"] == first[warning.user_id]["CreatedAt"] and still["UpdatedAt"] > first[warning.user_id]["UpdatedAt"]


def test_a_dry_run_imports_no_finding(rig_path, state, sso):
    _, people, environment, _ = findings_setup(rig_path, state, sso, seed=12)
    invocation, _, _ = run_monitor(INACTIVITY, {"dryRun": True}, environment)
    assert (invocation.response["expired"], invocation.response["warning"]) == (1, 1)
    assert all(found == [] for found in findings_of(state, people).values())


def test_without_permission_to_import_the_run_fails_with_the_aws_error_code(rig_path, state, sso):
    _, _, environment, queue = findings_setup(rig_path, state, sso, seed=13)
    policy = render_policy(INACTIVITY, policy_values(state, sso, registry_table=environment["REGISTRY_TABLE"],
                                                     activity_table=environment["ACTIVITY_TABLE"], alert_queue_arn=queue[1]))
    policy["Statement"] = [one for one in policy["Statement"] if one["Sid"] != "KeepFindings"]
    credentials = rig.call(rig_path, "create_function_user", name=unique(INACTIVITY), policy=policy)
    denied = {**environment, "AWS_ACCESS_KEY_ID": credentials["accessKeyId"], "AWS_SECRET_ACCESS_KEY": credentials["secretAccessKey"]}
    result = run_function(INACTIVITY, [SCHEDULED_EVENT], denied)
    invocation = result.invocations[0]
    assert invocation.status == "error"
    assert "SECURITYHUB GetFindings failed: AccessDenied" in invocation.error["errorMessage"]


def test_the_alert_topic_gets_every_alert_the_queue_gets_with_a_subject(rig_path, state, sso):
    now = utc_now()
    b = Builder(state, sso, now, seed=14)
    for number in range(1300):  # long names: the alert takes several messages
        b.person(f"topic.{number:04d}.{'y' * 90}@example.com", "console", now - 150 * DAY)
    clear_cloudtrail(state)
    table = new_table(rig_path, Organisation(b.store_id, now, b.people, [], "").items())
    sns, sqs = rig.client(state, "sns"), rig.client(state, "sqs")
    topic = sns.create_topic(Name=unique("alert-topic"))["TopicArn"]
    inbox_url, inbox_arn = new_queue(state)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    queue = new_queue(state)
    environment = monitor_environment(rig_path, state, sso, INACTIVITY, table, queue, ALERT_TOPIC_ARN=topic)

    invocation, _, _ = run_monitor(INACTIVITY, SCHEDULED_EVENT, environment)

    queued = drain(state, queue[0])
    published = [json.loads(body) for body in drain(state, inbox_url)]
    assert invocation.response["messagesSent"] == len(queued) == len(published) > 1
    assert sorted(note["Message"] for note in published) == sorted(queued)
    parts = len(queued)
    assert sorted(note["Subject"] for note in published) == sorted(
        f"PCI DSS 8.2.6: 1300 users inactive 90+ days (part {n} of {parts})" for n in range(1, parts + 1))
    sqs.delete_queue(QueueUrl=inbox_url)
