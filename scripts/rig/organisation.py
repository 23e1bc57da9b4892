#!/usr/bin/env python3
"""A synthetic IAM Identity Center organisation as plain data, and the CloudTrail activity of its
people: what the benchmark, the tests and demos seed into the rig.

    spec = generate(users=1000, seed=7, tag="bench")   # deterministic: same arguments, same spec
    ids = POST /_rig/organisation {"spec": spec}          # moto_seeding.py, in-process, seconds
    ids = seed_with_boto3(client, spec, instance, store)  # the same through the APIs, one call each
    records = cloudtrail_records(spec, ids, as_of)        # role and interactive sign-ins, passwords

A spec is JSON-able and names everything by a key of its own (`u00012`, `g0003`, `a0004`,
`p005`); the ids AWS (moto) gives them come back from seeding as
`{"instanceArn", "identityStoreId", "users": {key: UserId}, "groups": {key: GroupId},
"accounts": {key: AccountId}, "permissionSets": {key: PermissionSetArn}}`.

    {"version": 1, "tag", "seed",
     "users": [{"key", "userName", "displayName", "givenName", "familyName", "email",
                "externalIds": [{"Issuer", "Id"}]}],   # externalIds only for SCIM-provisioned users
     "groups": [{"key", "displayName", "description" (or null), "members": [user keys]}],
     "accounts": [{"key", "name", "email"}],
     "permissionSets": [{"key", "name", "description" (or null)}],
     "assignments": [{"account", "permissionSet", "principalType": "USER"|"GROUP", "principal"}],
     "provisionedOnly": [{"account", "permissionSet"}]}   # ProvisionPermissionSet, no assignment

What every generated spec holds, whatever its size (`features()` finds each one):
- user u00000 reaches account a0000 through permission set p000 by two groups (g0000, g0001) and
  directly: three report rows for one account and permission set;
- user u00001's name starts with `=` (and holds a comma and quotes): a spreadsheet formula;
- group g0002 has no members and is assigned; about a third of the permission sets have no
  description; the last permission set is provisioned to an account without any assignment;
- about 30 % of the users (u00002 always) carry ExternalIds (provisioned by SCIM from an external IdP);
- p000 is assigned in every account (more than 100 accounts a permission set past 2,000 users).

Sizes scale with the users as a 10,000-user organisation is shaped: 2,000 groups, 500 accounts,
200 permission sets (`shape()`). Standard library only; cloudtrail_events.py builds the records.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import uuid

SPEC_VERSION = 1
# A 10,000-user organisation: 2,000 groups, 500 accounts, 200 permission sets.
PER_10K = {"groups": 2000, "accounts": 500, "permissionSets": 200}
MINIMUM = {"users": 4, "groups": 4, "accounts": 3, "permissionSets": 4}
GIVEN = ["ana", "bruno", "chen", "dara", "emeka", "farah", "gus", "hana", "ivan", "jo", "kofi", "lena", "mateo",
         "nia", "omar", "priya", "quinn", "rosa", "sven", "tara", "uma", "vik", "wen", "xavi", "yara", "zane"]
FAMILY = ["abbott", "byrne", "costa", "diaz", "evans", "fischer", "garcia", "haddad", "ito", "jensen", "kim",
          "lopez", "moreau", "novak", "okafor", "patel", "quist", "rossi", "silva", "tanaka", "varga", "weber"]
TEAMS = ["platform", "payments", "data", "mobile", "web", "security", "sre", "finance", "support", "ml",
         "identity", "network", "billing", "search", "growth", "infra"]
ENVIRONMENTS = ["prod", "staging", "dev", "sandbox", "shared", "security", "logging", "network"]
ROLES = ["ReadOnly", "Developer", "Admin", "Billing", "Audit", "Operator", "Network", "DataEng", "Security",
         "Support", "PowerUser", "Deploy"]
FORMULA_USER = "u00001"
MULTI_PATH_USER = "u00000"
EMPTY_GROUP = "g0002"
SCIM_USER = "u00002"  # always provisioned by SCIM (ExternalIds), whatever the size
SESSION_DURATION_DEFAULT = 3600  # what moto stores when CreatePermissionSet names none


# --- the spec ---------------------------------------------------------------------------------


def shape(users: int) -> dict[str, int]:
    """Group, account and permission set counts scaled with `users` as PER_10K has them."""
    users = max(MINIMUM["users"], users)
    counts = {name: max(MINIMUM[name], round(users * per / 10_000)) for name, per in PER_10K.items()}
    return {"users": users, **counts}


def user_key(index: int) -> str:
    return f"u{index:05d}"


def group_key(index: int) -> str:
    return f"g{index:04d}"


def account_key(index: int) -> str:
    return f"a{index:04d}"


def permission_set_key(index: int) -> str:
    return f"p{index:03d}"


def generate(users: int, groups: int | None = None, accounts: int | None = None, permission_sets: int | None = None,
             seed: int = 7, tag: str = "org") -> dict:
    """A deterministic organisation: the same arguments give the same spec, byte for byte.
    Counts left out follow shape(users); `tag` goes into every name, so that two organisations
    can share one rig (identity store group names and user names must be unique)."""
    if not tag or not tag.replace("-", "").isalnum() or len(tag) > 12:
        raise ValueError("tag: 1 to 12 letters, digits or hyphens")
    counts = shape(users)
    for name, given in (("groups", groups), ("accounts", accounts), ("permissionSets", permission_sets)):
        if given is not None:
            counts[name] = max(MINIMUM[name], given)
    rng = random.Random(f"organisation/{seed}/{tag}")
    n_users, n_groups, n_accounts, n_sets = counts["users"], counts["groups"], counts["accounts"], counts["permissionSets"]

    user_list = [_user(index, rng, tag, seed) for index in range(n_users)]
    members = _memberships(n_users, n_groups, rng)
    group_list = [_group(index, rng, tag, members[index]) for index in range(n_groups)]
    account_list = [_account(index, tag) for index in range(n_accounts)]
    set_list = [_permission_set(index, tag) for index in range(n_sets)]
    assignments, provisioned_only = _assignments(n_users, n_groups, n_accounts, n_sets, rng)
    return {"version": SPEC_VERSION, "tag": tag, "seed": seed, "users": user_list, "groups": group_list,
            "accounts": account_list, "permissionSets": set_list, "assignments": assignments,
            "provisionedOnly": provisioned_only}


def person(key: str, user_name: str, given: str, family: str, display_name: str | None = None) -> dict:
    """A spec user with the name, display name and email a console user has."""
    return {"key": key, "userName": user_name, "displayName": display_name or f"{given} {family}", "givenName": given,
            "familyName": family, "email": f"{user_name}@example.com" if "@" not in user_name else user_name}


def _user(index: int, rng: random.Random, tag: str, seed: int) -> dict:
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    user = {"key": user_key(index), "userName": f"{given}.{family}.{index}@{tag}.example.com",
            "displayName": f"{given.title()} {family.title()}", "givenName": given.title(),
            "familyName": family.title(), "email": f"{given}.{family}.{index}@{tag}.example.com"}
    if index % 97 == 5:
        user["displayName"] = f"{family.title()}, {given.title()}"  # a comma in a display name
    if user["key"] == FORMULA_USER:
        user.update(userName=f'=HYPERLINK("https://{tag}.example.com/x","open")', displayName="Formula Person")
    scim = rng.random() < 0.3 or user["key"] == SCIM_USER
    if scim and user["key"] not in (MULTI_PATH_USER, FORMULA_USER):
        user["externalIds"] = [{"Issuer": f"https://scim.{tag}.example.com/v2",
                                "Id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}/{seed}/{index}"))}]
    return user


def _memberships(n_users: int, n_groups: int, rng: random.Random) -> list[list[str]]:
    """Each user in one to three groups, picked with a skew so that a few groups are large (the
    first ones, a few hundred members at 10,000 users) and most are small; EMPTY_GROUP stays empty."""
    empty = int(EMPTY_GROUP[1:])
    members: list[set[int]] = [set() for _ in range(n_groups)]
    for user in range(n_users):
        roll = rng.random()
        for _ in range(1 + (roll < 0.45) + (roll < 0.15)):
            group = int(n_groups * rng.random() ** 2)
            members[group if group != empty else (group + 1) % n_groups].add(user)
    members[0].add(0)
    members[1].add(0)
    return [[user_key(user) for user in sorted(group)] for group in members]


def _group(index: int, rng: random.Random, tag: str, members: list[str]) -> dict:
    team = TEAMS[index % len(TEAMS)]
    names = {0: f"{tag}-all-engineering", 1: f"{tag}-on-call", 2: f"{tag}-empty"}
    description = None if index % 4 == 3 else f"{team} team {index}"
    return {"key": group_key(index), "displayName": names.get(index, f"{tag}-{team}-{index:04d}"),
            "description": description, "members": members}


def _account(index: int, tag: str) -> dict:
    name = f'Payments, "EU" {tag}' if index == 0 else f"{tag}-{ENVIRONMENTS[index % len(ENVIRONMENTS)]}-{index:04d}"
    return {"key": account_key(index), "name": name, "email": f"aws+{tag}-{index}@example.com"}


def _permission_set(index: int, tag: str) -> dict:
    role = ROLES[index % len(ROLES)]
    name = f"{role}-{tag}-{index:03d}"[:32]
    if index == 0:
        description = 'Read only, for "auditors", everywhere'
    elif index % 3 == 1:
        description = None
    else:
        description = f"{role} access, set {index}"
    return {"key": permission_set_key(index), "name": name, "description": description}


def _assignments(n_users: int, n_groups: int, n_accounts: int, n_sets: int,
                 rng: random.Random) -> tuple[list[dict], list[dict]]:
    """p000 in every account; two to six permission sets an account in all, each given to one or
    two groups and now and then to a user directly; plus the fixed cases of the module docstring.
    The last permission set is only ever provisioned, never assigned."""
    assigned: dict[tuple[int, int], list[tuple[str, str]]] = {}
    last = n_sets - 1
    pool = max(1, last)  # permission sets that may be assigned: all but the last
    regular_groups = list(range(3, n_groups)) or list(range(n_groups))

    def assign(account: int, permission_set: int, kind: str, principal: str) -> None:
        paths = assigned.setdefault((account, permission_set), [])
        if (kind, principal) not in paths:
            paths.append((kind, principal))

    for account in range(n_accounts):
        wanted = {0}
        for _ in range(1 + rng.randrange(5)):
            wanted.add(int(pool * rng.random() ** 1.5))
        for permission_set in sorted(wanted):
            for _ in range(1 + (rng.random() < 0.4)):
                assign(account, permission_set, "GROUP", group_key(rng.choice(regular_groups)))
            if rng.random() < 0.15:
                for _ in range(1 + rng.randrange(2)):
                    assign(account, permission_set, "USER", user_key(rng.randrange(n_users)))
    # The fixed cases.
    assign(0, 0, "GROUP", group_key(0))
    assign(0, 0, "GROUP", group_key(1))
    assign(0, 0, "USER", MULTI_PATH_USER)
    assign(1 % n_accounts, 1 % pool, "GROUP", EMPTY_GROUP)
    assign(0, 2 % pool, "USER", FORMULA_USER)
    assignments = [{"account": account_key(account), "permissionSet": permission_set_key(permission_set),
                    "principalType": kind, "principal": principal}
                   for (account, permission_set), paths in sorted(assigned.items()) for kind, principal in paths]
    provisioned_only = [{"account": account_key(1 % n_accounts), "permissionSet": permission_set_key(last)}]
    return assignments, provisioned_only


# --- what a spec holds ------------------------------------------------------------------------


def validate(spec: dict) -> None:
    """Raises ValueError when the spec is not one seeding can build: unknown version, a key
    twice, a reference to nothing, two users or groups with one name."""
    if not isinstance(spec, dict) or spec.get("version") != SPEC_VERSION:
        raise ValueError(f"an organisation spec of version {SPEC_VERSION} is expected")
    keys = {}
    for kind in ("users", "groups", "accounts", "permissionSets"):
        if not isinstance(spec.get(kind), list):
            raise ValueError(f"{kind}: a list is expected")
        keys[kind] = [item["key"] for item in spec[kind]]
        if len(set(keys[kind])) != len(keys[kind]):
            raise ValueError(f"{kind}: a key appears twice")
    for kind, field in (("users", "userName"), ("groups", "displayName")):
        names = [item[field] for item in spec[kind]]
        if len(set(names)) != len(names):
            raise ValueError(f"{kind}: a {field} appears twice")
    users, groups = set(keys["users"]), set(keys["groups"])
    accounts, sets = set(keys["accounts"]), set(keys["permissionSets"])
    for group in spec["groups"]:
        if not set(group["members"]) <= users:
            raise ValueError(f"group {group['key']}: a member is not a user of the spec")
    for assignment in spec.get("assignments", []):
        principals = users if assignment["principalType"] == "USER" else groups
        if (assignment["account"] not in accounts or assignment["permissionSet"] not in sets
                or assignment["principal"] not in principals or assignment["principalType"] not in ("USER", "GROUP")):
            raise ValueError(f"assignment {assignment}: names something the spec does not hold")
    for pair in spec.get("provisionedOnly", []):
        if pair["account"] not in accounts or pair["permissionSet"] not in sets:
            raise ValueError(f"provisionedOnly {pair}: names something the spec does not hold")


def summary(spec: dict) -> dict:
    """Counts, and the sizes the report's enumerations depend on."""
    pairs = {(a["account"], a["permissionSet"]) for a in spec["assignments"]}
    pairs |= {(p["account"], p["permissionSet"]) for p in spec["provisionedOnly"]}
    return {"users": len(spec["users"]), "groups": len(spec["groups"]), "accounts": len(spec["accounts"]),
            "permissionSets": len(spec["permissionSets"]), "memberships": sum(len(g["members"]) for g in spec["groups"]),
            "assignments": len(spec["assignments"]), "provisionedPairs": len(pairs), "reportRows": len(report_paths(spec)),
            "usersWithExternalIds": sum(1 for u in spec["users"] if u.get("externalIds"))}


def report_paths(spec: dict) -> list[tuple[str, str, str | None, str]]:
    """(account, permission set, group or None, user) for every row the credential report must
    hold (docs/contract.md "Report out"): a GROUP assignment gives one row per member, a USER one row."""
    members = {group["key"]: group["members"] for group in spec["groups"]}
    paths = []
    for a in spec["assignments"]:
        if a["principalType"] == "USER":
            paths.append((a["account"], a["permissionSet"], None, a["principal"]))
        else:
            paths += [(a["account"], a["permissionSet"], a["principal"], user) for user in members[a["principal"]]]
    return paths


def accesses(spec: dict) -> dict[str, list[tuple[str, str]]]:
    """Per user key, the (account key, permission set key) pairs the user can sign in to."""
    reach: dict[str, set[tuple[str, str]]] = {}
    for account, permission_set, _, user in report_paths(spec):
        reach.setdefault(user, set()).add((account, permission_set))
    return {user: sorted(pairs) for user, pairs in reach.items()}


def features(spec: dict) -> dict[str, bool]:
    """The cases of the module docstring, each checked on the spec itself."""
    groups = {g["key"]: g for g in spec["groups"]}
    paths_to = {}
    for account, permission_set, group, user in report_paths(spec):
        paths_to.setdefault((account, permission_set, user), []).append(group)
    assigned_sets = {a["permissionSet"] for a in spec["assignments"]}
    assigned_groups = {a["principal"] for a in spec["assignments"] if a["principalType"] == "GROUP"}
    return {
        "userThroughTwoGroupsAndDirectly": any(
            None in via and sum(1 for g in via if g is not None) >= 2 for via in paths_to.values()),
        "userNameStartingWithEquals": any(u["userName"].startswith("=") for u in spec["users"]),
        "permissionSetWithoutDescription": any(p["description"] is None for p in spec["permissionSets"]),
        "permissionSetWithDescription": any(p["description"] for p in spec["permissionSets"]),
        "assignedGroupWithoutMembers": any(not groups[g]["members"] for g in assigned_groups),
        "userAndGroupAssignments": {a["principalType"] for a in spec["assignments"]} == {"USER", "GROUP"},
        "usersWithExternalIds": any(u.get("externalIds") for u in spec["users"]),
        "usersWithoutExternalIds": any(not u.get("externalIds") for u in spec["users"]),
        "provisionedWithoutAssignment": any(p["permissionSet"] not in assigned_sets for p in spec["provisionedOnly"]),
    }


# --- the requests that build it ---------------------------------------------------------------
# One builder per API call, shared by seed_with_boto3 and the in-process route of moto_seeding.py,
# so that both put exactly the same values into moto.


def create_user_request(user: dict, identity_store_id: str) -> dict:
    """identitystore:CreateUser's parameters (the API takes no ExternalIds: SCIM sets those)."""
    return {"IdentityStoreId": identity_store_id, "UserName": user["userName"], "DisplayName": user["displayName"],
            "Name": {"GivenName": user["givenName"], "FamilyName": user["familyName"]},
            "Emails": [{"Value": user["email"], "Type": "work", "Primary": True}]}


def create_group_request(group: dict, identity_store_id: str) -> dict:
    request = {"IdentityStoreId": identity_store_id, "DisplayName": group["displayName"]}
    if group.get("description") is not None:
        request["Description"] = group["description"]
    return request


def create_account_request(account: dict) -> dict:
    return {"AccountName": account["name"], "Email": account["email"]}


def create_permission_set_request(permission_set: dict, instance_arn: str) -> dict:
    request = {"InstanceArn": instance_arn, "Name": permission_set["name"]}
    if permission_set.get("description") is not None:
        request["Description"] = permission_set["description"]
    return request


def create_account_assignment_request(assignment: dict, ids: dict) -> dict:
    principals = ids["users"] if assignment["principalType"] == "USER" else ids["groups"]
    return {"InstanceArn": ids["instanceArn"], "TargetId": ids["accounts"][assignment["account"]],
            "TargetType": "AWS_ACCOUNT", "PermissionSetArn": ids["permissionSets"][assignment["permissionSet"]],
            "PrincipalType": assignment["principalType"], "PrincipalId": principals[assignment["principal"]]}


def provision_permission_set_request(pair: dict, ids: dict) -> dict:
    return {"InstanceArn": ids["instanceArn"], "PermissionSetArn": ids["permissionSets"][pair["permissionSet"]],
            "TargetType": "AWS_ACCOUNT", "TargetId": ids["accounts"][pair["account"]]}


def seed_with_boto3(client, spec: dict, instance_arn: str, identity_store_id: str, ids: dict | None = None) -> dict:
    """The spec through the public APIs, one call an object (slow: for small organisations and
    for checking the in-process route). `client(service)` gives a boto3 client allowed to do it.
    Users' ExternalIds cannot be set this way (no API takes them). `ids`, when given, is filled as
    each thing is made: a caller can undo a seed that failed half way."""
    validate(spec)
    store, sso, organizations = client("identitystore"), client("sso-admin"), client("organizations")
    ids = {} if ids is None else ids
    ids.update({"instanceArn": instance_arn, "identityStoreId": identity_store_id,
                "users": {}, "groups": {}, "accounts": {}, "permissionSets": {}})
    try:
        organizations.create_organization(FeatureSet="ALL")
    except organizations.exceptions.AlreadyInOrganizationException:
        pass
    for user in spec["users"]:
        ids["users"][user["key"]] = store.create_user(**create_user_request(user, identity_store_id))["UserId"]
    for group in spec["groups"]:
        group_id = store.create_group(**create_group_request(group, identity_store_id))["GroupId"]
        ids["groups"][group["key"]] = group_id
        for member in group["members"]:
            store.create_group_membership(IdentityStoreId=identity_store_id, GroupId=group_id,
                                          MemberId={"UserId": ids["users"][member]})
    for account in spec["accounts"]:
        status = organizations.create_account(**create_account_request(account))["CreateAccountStatus"]
        if status["State"] != "SUCCEEDED":
            raise RuntimeError(f"account {account['key']} not created: {status}")
        ids["accounts"][account["key"]] = status["AccountId"]
    for permission_set in spec["permissionSets"]:
        made = sso.create_permission_set(**create_permission_set_request(permission_set, instance_arn))
        ids["permissionSets"][permission_set["key"]] = made["PermissionSet"]["PermissionSetArn"]
    for assignment in spec["assignments"]:
        status = sso.create_account_assignment(**create_account_assignment_request(assignment, ids))
        if status["AccountAssignmentCreationStatus"]["Status"] != "SUCCEEDED":
            raise RuntimeError(f"assignment {assignment} not made: {status['AccountAssignmentCreationStatus']}")
    for pair in spec["provisionedOnly"]:
        sso.provision_permission_set(**provision_permission_set_request(pair, ids))
    return ids


# --- CloudTrail -------------------------------------------------------------------------------


def cloudtrail_records(spec: dict, ids: dict, as_of: dt.datetime, days: int = 90, seed: int = 11,
                       sign_ins_per_user: float = 1.0, role_sign_ins_per_user: float = 0.5,
                       password_change_share: float = 0.3, old_format_share: float = 0.15,
                       account_id: str | None = None) -> list[dict]:
    """The organisation's activity over the `days` before `as_of`, as CloudTrail records
    (cloudtrail_events.py), spread evenly in time:
    - interactive sign-ins, `sign_ins_per_user` on average (15 % of users none at all):
      UserAuthentication, CredentialVerification (one in ten of them failed) and the legacy
      Authenticate;
    - password changes (UpdatePassword) by `password_change_share` of the users, one in ten an
      administrator's reset;
    - role sign-ins (Federate, GetRoleCredentials), `role_sign_ins_per_user` on average, each to
      an account and permission set the user can reach (the role is named after the permission set);
    `old_format_share` of the records are in the format before 2025 (the user named, no onBehalfOf)."""
    from rig import cloudtrail_events as ct

    rng = random.Random(f"activity/{seed}/{spec['tag']}/{spec['seed']}")
    owner = account_id or ct.ACCOUNT_ID
    store_arn = f"arn:aws:identitystore::{owner}:identitystore/{ids['identityStoreId']}"
    names = {p["key"]: p["name"] for p in spec["permissionSets"]}
    reach = accesses(spec)
    span = days * 86400 - 2 * 3600  # an hour's margin at each end of LookupEvents' window

    def when() -> dt.datetime:
        return as_of - dt.timedelta(seconds=60 + rng.randrange(span))

    def count(mean: float) -> int:
        return int(mean) + (rng.random() < mean - int(mean))

    records = []
    for user in spec["users"]:
        user_id, user_name = ids["users"][user["key"]], user["userName"]
        active = rng.random() >= 0.15
        for _ in range(count(sign_ins_per_user / 0.85) if active else 0):
            roll, old = rng.random(), rng.random() < old_format_share
            if roll < 0.7:
                record = ct.sign_in(user_id, user_name, when(), store_arn, old_format=old)
            elif roll < 0.9:
                record = ct.sign_in(user_id, user_name, when(), store_arn, kind="CredentialVerification",
                                    success=rng.random() >= 0.1, old_format=old)
            else:
                record = ct.sign_in(user_id, user_name, when(), store_arn, kind="Authenticate", old_format=old)
            records.append(record)
        if rng.random() < password_change_share:
            records.append(ct.password_change(user_id, when(), store_arn, by_admin=rng.random() < 0.1,
                                              old_format=rng.random() < old_format_share, user_name=user_name))
        pairs = reach.get(user["key"])
        for _ in range(count(role_sign_ins_per_user) if pairs else 0):
            account, permission_set = rng.choice(pairs)
            records.append(ct.role_sign_in(user_id, user_name, when(), ids["accounts"][account], names[permission_set],
                                           kind=rng.choice(("Federate", "GetRoleCredentials")),
                                           old_format=rng.random() < old_format_share, identity_store_arn=store_arn))
    return records


def registry_items(spec: dict, ids: dict, as_of: dt.datetime, seed: int = 13) -> list[dict]:
    """The registry table's items (docs/contract.md "The registry table", plain attribute values) for every
    user, as the writer would have made them over time: SCIM users' Origin `scim`, CreatedAt up to
    two years back, remembered sign-in and password dates for about a third of them."""
    rng = random.Random(f"registry/{seed}/{spec['tag']}/{spec['seed']}")

    def days_ago(low: int, high: int) -> str:
        return (as_of - dt.timedelta(days=rng.randint(low, high), seconds=rng.randrange(86400))).strftime("%Y-%m-%dT%H:%M:%SZ")

    items = []
    for index, user in enumerate(spec["users"]):
        item = {"UserId": ids["users"][user["key"]], "UserName": user["userName"], "DisplayName": user["displayName"],
                "IdentityStoreId": ids["identityStoreId"],
                "Origin": "scim" if user.get("externalIds") else ("console", "api")[index % 2],
                "CreatedAt": days_ago(30, 730), "UpdatedAt": days_ago(1, 29)}
        if rng.random() < 0.35:
            item["LastSignInAt"] = days_ago(60, 200)
        if rng.random() < 0.35:
            item["LastPasswordChangeAt"] = days_ago(60, 200)
        items.append(item)
    return items


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate an organisation spec (JSON) or print its summary.")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tag", default="org")
    parser.add_argument("--summary", action="store_true", help="print counts and features instead of the spec")
    args = parser.parse_args(argv)
    spec = generate(args.users, seed=args.seed, tag=args.tag)
    print(json.dumps({**summary(spec), "features": features(spec)} if args.summary else spec, indent=2))


if __name__ == "__main__":
    main()
