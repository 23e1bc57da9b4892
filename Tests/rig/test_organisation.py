"""Tests for the rig's scale knobs: scripts/rig/organisation.py (the synthetic organisation and its
CloudTrail activity) and what rig_knobs.py and moto_seeding.py add for the benchmark: POST /_rig/organisation,
which builds an organisation in moto's backends in-process, and the latency and rate-limit
middleware with its request counts (/_rig/config, /_rig/stats).

Two rigs of their own: one seeded through boto3, one through the route, so that the route can be
compared with what the same boto3 calls make; the knobs are tried on the first.
"""
from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError


import rig
from rig import organisation

DROPPED = {"CreatedDate", "JoinedTimestamp", "MembershipId", "ResponseMetadata", "RequestId", "ExternalIds"}


def rig_admin(state: dict, method: str, route: str, body=None):
    """One call of the rig's /_rig/ admin routes (rig_knobs.py): (HTTP status, JSON answer)."""
    request = urllib.request.Request(f"{state['moto']['url']}/_rig/{route}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def rigs(tmp_path_factory):
    """Two rigs: "boto3" (also the knobs' rig) and "route"."""
    directory = tmp_path_factory.mktemp("organisation-rigs")
    paths = {name: directory / f"{name}.json" for name in ("boto3", "route")}
    states = {}
    try:
        for name, path in paths.items():
            states[name] = rig.start(path)
        yield states
    finally:
        for path in paths.values():
            rig.stop(path)


@pytest.fixture
def knobs(rigs):
    """The boto3 rig with its knobs and counts put back to the defaults before and after."""
    state = rigs["boto3"]
    rig_admin(state, "DELETE", "config")
    rig_admin(state, "DELETE", "stats")
    yield state
    rig_admin(state, "DELETE", "config")
    rig_admin(state, "DELETE", "stats")


# --- the generator ----------------------------------------------------------------------------


def test_same_arguments_same_spec_and_another_seed_another():
    first = json.dumps(organisation.generate(300, seed=3, tag="det"))
    assert json.dumps(organisation.generate(300, seed=3, tag="det")) == first
    assert json.dumps(organisation.generate(300, seed=4, tag="det")) != first


@pytest.mark.parametrize("users", [4, 12, 250, 2500])
def test_every_spec_has_the_required_cases(users):
    spec = organisation.generate(users, tag="feat")
    organisation.validate(spec)
    assert organisation.features(spec) == dict.fromkeys(organisation.features(spec), True)
    # The named cases, looked at directly.
    paths = [(a, p, g) for a, p, g, u in organisation.report_paths(spec) if u == organisation.MULTI_PATH_USER]
    assert {"", "g0000", "g0001"} <= {g or "" for a, p, g in paths if (a, p) == ("a0000", "p000")}
    formula = next(u for u in spec["users"] if u["key"] == organisation.FORMULA_USER)
    assert formula["userName"].startswith("=")
    assert any(a["principal"] == organisation.FORMULA_USER for a in spec["assignments"])


def test_sizes_scale_as_a_10000_user_organisation():
    assert organisation.shape(10_000) == {"users": 10_000, "groups": 2000, "accounts": 500, "permissionSets": 200}
    assert organisation.shape(1000) == {"users": 1000, "groups": 200, "accounts": 50, "permissionSets": 20}
    spec = organisation.generate(5000, tag="five")
    counts = organisation.summary(spec)
    assert (counts["users"], counts["groups"], counts["accounts"], counts["permissionSets"]) == (5000, 1000, 250, 100)
    # p000 is in every account: more than a page (100) of ListAccountsForProvisionedPermissionSet.
    assert len({a["account"] for a in spec["assignments"] if a["permissionSet"] == "p000"}) == 250
    assert 0.2 < counts["usersWithExternalIds"] / counts["users"] < 0.4


def test_validate_refuses_what_seeding_cannot_build():
    spec = organisation.generate(12, tag="bad")
    broken = json.loads(json.dumps(spec))
    broken["assignments"].append({"account": "a0000", "permissionSet": "p000", "principalType": "USER",
                                  "principal": "u99999"})
    with pytest.raises(ValueError):
        organisation.validate(broken)
    twice = json.loads(json.dumps(spec))
    twice["users"][1]["userName"] = twice["users"][0]["userName"]
    with pytest.raises(ValueError):
        organisation.validate(twice)


def test_cloudtrail_records_cover_every_kind_and_both_formats():
    spec = organisation.generate(200, tag="ct")
    ids = {"identityStoreId": "d-0123456789",
           "users": {u["key"]: f"id-{u['key']}" for u in spec["users"]},
           "accounts": {a["key"]: f"{100000000000 + i}" for i, a in enumerate(spec["accounts"])}}
    as_of = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.timezone.utc)
    records = organisation.cloudtrail_records(spec, ids, as_of, days=30, sign_ins_per_user=2, role_sign_ins_per_user=1)
    assert records == organisation.cloudtrail_records(spec, ids, as_of, days=30, sign_ins_per_user=2,
                                                      role_sign_ins_per_user=1)
    names = {r["eventName"] for r in records}
    assert names == {"UserAuthentication", "CredentialVerification", "Authenticate", "UpdatePassword",
                     "Federate", "GetRoleCredentials"}
    times = [dt.datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc) for r in records]
    assert all(as_of - dt.timedelta(days=30) < t < as_of for t in times)
    assert max(times) - min(times) > dt.timedelta(days=25)  # spread over the window
    current = [r for r in records if "onBehalfOf" in r["userIdentity"]]
    old = [r for r in records if r["eventName"] != "UpdatePassword" and "onBehalfOf" not in r["userIdentity"]
           and r["userIdentity"].get("type") != "AssumedRole"]
    assert current and old
    # Role sign-ins name a permission set and an account the user can reach.
    reach = organisation.accesses(spec)
    by_id = {v: k for k, v in ids["users"].items()}
    by_account = {v: k for k, v in ids["accounts"].items()}
    names_of = {p["key"]: p["name"] for p in spec["permissionSets"]}
    for record in records:
        if record["eventName"] in ("Federate", "GetRoleCredentials") and "onBehalfOf" in record["userIdentity"]:
            user = by_id[record["userIdentity"]["onBehalfOf"]["userId"]]
            details = record["serviceEventDetails"]
            assert (by_account[details["account_id"]], details["role_name"]) in {
                (account, names_of[ps]) for account, ps in reach[user]}


def test_registry_items_follow_the_registry_schema():
    spec = organisation.generate(100, tag="reg")
    ids = {"identityStoreId": "d-0123456789", "users": {u["key"]: f"id-{u['key']}" for u in spec["users"]}}
    items = organisation.registry_items(spec, ids, dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc))
    assert len(items) == 100
    allowed = {"UserId", "UserName", "DisplayName", "IdentityStoreId", "Origin", "CreatedAt", "UpdatedAt",
               "LastSignInAt", "LastPasswordChangeAt"}
    assert all(set(item) <= allowed for item in items)
    scim = {u["key"] for u in spec["users"] if u.get("externalIds")}
    assert {item["UserId"][3:] for item in items if item["Origin"] == "scim"} == scim


# --- the seeding route against boto3 ----------------------------------------------------------


def normalised(value, names: dict[str, str]):
    """`value` with every id replaced by its spec key and the fields that differ by nature
    (creation dates, membership ids, request ids, ExternalIds) left out."""
    if isinstance(value, dict):
        return {k: normalised(v, names) for k, v in value.items() if k not in DROPPED}
    if isinstance(value, list):
        return [normalised(v, names) for v in value]
    if isinstance(value, str):
        for real, key in sorted(names.items(), key=lambda item: -len(item[0])):  # ARNs before the instance
            value = value.replace(real, key)
        return value
    return value


def pages(client, operation: str, key: str, **params) -> list:
    return [item for page in client.get_paginator(operation).paginate(**params) for item in page[key]]


def snapshot(state: dict, ids: dict) -> dict:
    """Every list and describe answer the functions could read about the seeded organisation."""
    store, sso, organizations = (rig.client(state, s) for s in ("identitystore", "sso-admin", "organizations"))
    store_id, instance = ids["identityStoreId"], ids["instanceArn"]
    org = organizations.describe_organization()["Organization"]
    names = {instance: "INSTANCE", store_id: "STORE", org["Id"]: "ORG"}
    for kind in ("users", "groups", "accounts", "permissionSets"):
        names.update({real: f"<{key}>" for key, real in ids[kind].items()})
    answers = {"organization": org, "accounts": organizations.list_accounts()["Accounts"],
               "users": pages(store, "list_users", "Users", IdentityStoreId=store_id),
               "groups": pages(store, "list_groups", "Groups", IdentityStoreId=store_id),
               "permissionSets": pages(sso, "list_permission_sets", "PermissionSets", InstanceArn=instance)}
    for key, user_id in ids["users"].items():
        answers[f"describeUser {key}"] = store.describe_user(IdentityStoreId=store_id, UserId=user_id)
        answers[f"membershipsFor {key}"] = store.list_group_memberships_for_member(
            IdentityStoreId=store_id, MemberId={"UserId": user_id})["GroupMemberships"]
        answers[f"assignmentsFor {key}"] = pages(sso, "list_account_assignments_for_principal", "AccountAssignments",
                                                 InstanceArn=instance, PrincipalId=user_id, PrincipalType="USER")
    for key, group_id in ids["groups"].items():
        answers[f"describeGroup {key}"] = store.describe_group(IdentityStoreId=store_id, GroupId=group_id)
        answers[f"members {key}"] = pages(store, "list_group_memberships", "GroupMemberships",
                                          IdentityStoreId=store_id, GroupId=group_id)
        answers[f"assignmentsFor {key}"] = pages(sso, "list_account_assignments_for_principal", "AccountAssignments",
                                                 InstanceArn=instance, PrincipalId=group_id, PrincipalType="GROUP")
    for key, arn in ids["permissionSets"].items():
        answers[f"describePermissionSet {key}"] = sso.describe_permission_set(
            InstanceArn=instance, PermissionSetArn=arn)["PermissionSet"]
        answers[f"provisionedAccounts {key}"] = sso.list_accounts_for_provisioned_permission_set(
            InstanceArn=instance, PermissionSetArn=arn)["AccountIds"]
        for account_key, account in ids["accounts"].items():
            answers[f"assignments {account_key} {key}"] = pages(
                sso, "list_account_assignments", "AccountAssignments", InstanceArn=instance, AccountId=account,
                PermissionSetArn=arn)
    for key, account in ids["accounts"].items():
        answers[f"provisionedSets {key}"] = sso.list_permission_sets_provisioned_to_account(
            InstanceArn=instance, AccountId=account)["PermissionSets"]
    return normalised(answers, names)


@pytest.fixture(scope="module")
def seeded(rigs):
    """The same small organisation in both rigs: (spec, boto3 ids, route ids)."""
    spec = organisation.generate(12, tag="cmp", seed=5)
    state = rigs["boto3"]
    instance = rig.client(state, "sso-admin").list_instances()["Instances"][0]
    through_boto3 = organisation.seed_with_boto3(lambda service: rig.client(state, service), spec,
                                                 instance["InstanceArn"], instance["IdentityStoreId"])
    status, through_route = rig_admin(rigs["route"], "POST", "organisation", {"spec": spec})
    assert status == 200, through_route
    return spec, through_boto3, through_route


def test_route_answers_as_the_same_boto3_calls(rigs, seeded):
    spec, through_boto3, through_route = seeded
    assert through_route["summary"] == organisation.summary(spec)
    for kind in ("users", "groups", "accounts", "permissionSets"):
        assert set(through_route[kind]) == set(through_boto3[kind]) == {item["key"] for item in spec[kind]}
    expected = snapshot(rigs["boto3"], through_boto3)
    actual = snapshot(rigs["route"], through_route)
    assert actual.keys() == expected.keys()
    for name in expected:
        if name.startswith(("provisionedSets", "provisionedAccounts")):
            # The launcher answers these sorted by ARN or account id, which moto draws at random.
            assert sorted(actual[name]) == sorted(expected[name]), name
        else:
            assert actual[name] == expected[name], name
    # Not empty answers compared: the organisation is there.
    assert len(expected["users"]) == 12 and len(expected["accounts"]) == len(spec["accounts"]) + 1  # + the master
    assert any(expected[f"provisionedAccounts {p['key']}"] for p in spec["permissionSets"])
    assert expected[f"describePermissionSet {spec['permissionSets'][1]['key']}"].get("Description") is None


def test_route_gives_scim_users_their_external_ids(rigs, seeded):
    spec, _, through_route = seeded
    store = rig.client(rigs["route"], "identitystore")
    store_id = through_route["identityStoreId"]
    listed = {u["UserId"]: u for u in pages(store, "list_users", "Users", IdentityStoreId=store_id)}
    with_ids = [u for u in spec["users"] if u.get("externalIds")]
    assert with_ids and len(with_ids) < len(spec["users"])
    for user in spec["users"]:
        user_id = through_route["users"][user["key"]]
        described = store.describe_user(IdentityStoreId=store_id, UserId=user_id)
        assert described.get("ExternalIds") == user.get("externalIds"), user["key"]
        assert listed[user_id].get("ExternalIds") == user.get("externalIds"), user["key"]


def test_route_can_generate_the_spec_itself(tmp_path):
    path = tmp_path / "state.json"
    state = rig.start(path)
    try:
        status, answer = rig_admin(state, "POST", "organisation", {"generate": {"users": 300, "tag": "gen", "seed": 2}})
        assert status == 200, answer
        spec = organisation.generate(300, tag="gen", seed=2)
        assert answer["summary"] == organisation.summary(spec)
        store = rig.client(state, "identitystore")
        names = {u["UserName"] for u in pages(store, "list_users", "Users", IdentityStoreId=answer["identityStoreId"])}
        assert names == {u["userName"] for u in spec["users"]}
        assignments = pages(rig.client(state, "sso-admin"), "list_account_assignments", "AccountAssignments",
                            InstanceArn=answer["instanceArn"], AccountId=answer["accounts"]["a0000"],
                            PermissionSetArn=answer["permissionSets"]["p000"])
        wanted = [a for a in spec["assignments"] if (a["account"], a["permissionSet"]) == ("a0000", "p000")]
        assert len(assignments) == len(wanted)
        status, refused = rig_admin(state, "POST", "organisation", {"spec": {"version": 99}})
        assert status == 400 and refused["__type"] == "ValidationException"
    finally:
        rig.stop(path)


# --- latency, rate limits, counts -------------------------------------------------------------


def instance_arn(state: dict) -> str:
    return rig.client(state, "sso-admin").list_instances()["Instances"][0]["InstanceArn"]


def test_knobs_are_off_by_default_and_count_every_request(knobs):
    status, config = rig_admin(knobs, "GET", "config")
    assert status == 200
    assert config == {"latencyMs": 0, "ratePerSecond": 0, "burst": None, "services": [], "shared": False}
    sso, arn = rig.client(knobs, "sso-admin"), instance_arn(knobs)
    for _ in range(60):  # far above any limit the benchmark sets, and nothing is throttled
        sso.list_permission_sets(InstanceArn=arn)
    _, stats = rig_admin(knobs, "GET", "stats")
    assert stats["throttled"] == 0
    operations = stats["services"]["sso"]["operations"]
    assert {k: operations["ListPermissionSets"][k] for k in ("requests", "throttled")} == {"requests": 60, "throttled": 0}
    assert {k: operations["ListInstances"][k] for k in ("requests", "throttled")} == {"requests": 1, "throttled": 0}
    # When: ListInstances came first, the permission sets after it; moto's time on them is counted.
    assert operations["ListInstances"]["firstMs"] <= operations["ListPermissionSets"]["firstMs"]
    assert operations["ListPermissionSets"]["firstMs"] < operations["ListPermissionSets"]["lastMs"] <= stats["sinceResetMs"]
    assert 0 < operations["ListPermissionSets"]["busyMs"] <= stats["sinceResetMs"]


def test_rate_limit_throttles_above_the_rate_and_not_below(knobs):
    arn = instance_arn(knobs)
    status, config = rig_admin(knobs, "POST", "config", {"ratePerSecond": 10, "services": ["sso", "identitystore"]})
    assert status == 200 and config["ratePerSecond"] == 10 and config["services"] == ["sso", "identitystore"]
    sso = rig.client(knobs, "sso-admin")

    # Below the rate (8 a second for two seconds): nothing throttled.
    started = time.monotonic()
    for number in range(16):
        sso.list_permission_sets(InstanceArn=arn)
        time.sleep(max(0.0, started + (number + 1) / 8 - time.monotonic()))
    _, stats = rig_admin(knobs, "GET", "stats")
    assert stats["services"]["sso"]["throttled"] == 0

    # Above it (as fast as one client goes): throttled as AWS JSON 1.1 does.
    answers, started = [], time.monotonic()
    for _ in range(40):
        try:
            sso.list_permission_sets(InstanceArn=arn)
            answers.append("ok")
        except ClientError as error:
            answers.append(error.response)
    elapsed = time.monotonic() - started
    throttled = [a for a in answers if a != "ok"]
    assert throttled, "40 back-to-back requests at a 10 a second limit were all answered"
    # A full bucket (one second's worth) plus what refills meanwhile, no more.
    assert answers.count("ok") <= 10 + 10 * elapsed + 1
    error = throttled[0]
    assert error["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ThrottlingException"
    _, stats = rig_admin(knobs, "GET", "stats")
    assert stats["services"]["sso"]["operations"]["ListPermissionSets"]["throttled"] == len(throttled)

    # Each listed service has its own bucket; a service not listed is never limited.
    rig.client(knobs, "identitystore").list_users(IdentityStoreId="d-0123456789")
    for _ in range(30):
        rig.client(knobs, "sts").get_caller_identity()
    _, stats = rig_admin(knobs, "GET", "stats")
    assert stats["services"]["identitystore"]["throttled"] == 0
    sts = stats["services"]["sts"]
    assert (sts["requests"], sts["throttled"], list(sts["operations"])) == (30, 0, ["GetCallerIdentity"])


def test_shared_bucket_and_latency(knobs):
    arn = instance_arn(knobs)
    rig_admin(knobs, "POST", "config", {"ratePerSecond": 2, "burst": 5, "shared": True,
                                        "services": ["sso", "identitystore"]})
    sso, store = rig.client(knobs, "sso-admin"), rig.client(knobs, "identitystore")
    for _ in range(3):
        sso.list_permission_sets(InstanceArn=arn)
    for _ in range(2):
        store.list_users(IdentityStoreId="d-0123456789")
    # Five taken from the one shared bucket: the next request of either service is throttled.
    with pytest.raises(ClientError) as raised:
        store.list_users(IdentityStoreId="d-0123456789")
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"

    rig_admin(knobs, "POST", "config", {"ratePerSecond": 0, "latencyMs": 150})
    started = time.monotonic()
    sso.list_permission_sets(InstanceArn=arn)
    assert time.monotonic() - started >= 0.15
    # Latency applies to the listed services only.
    sts = rig.client(knobs, "sts")
    started = time.monotonic()
    sts.get_caller_identity()
    assert time.monotonic() - started < 0.15


def test_admin_refuses_a_bad_config(knobs):
    for body in ({"latencyMs": -1}, {"ratePerSecond": "fast"}, {"services": "sso"}, {"unknown": 1}, {"burst": 0},
                 {"shared": "yes"}):
        status, answer = rig_admin(knobs, "POST", "config", body)
        assert status == 400 and answer["__type"] == "ValidationException", body
    status, _ = rig_admin(knobs, "GET", "nothing-here")
    assert status == 404
    _, config = rig_admin(knobs, "GET", "config")
    assert config["services"] == [] and config["ratePerSecond"] == 0
