"""The organisation the credential-report end-to-end tests seed, and the report it must give.

`build_spec()` describes, in organisation.py's spec format (the one organisation builder of the
tests, the demo and the bench), and `seed()` builds through the public APIs as rig-admin, an
organisation larger than one page of every list the report
reads: more than 100 accounts in AWS Organizations (ListAccounts answers 20 a page), a permission
set provisioned to all of them (ListAccountsForProvisionedPermissionSet, 100 a page), more than 100
users (ListUsers) and groups (ListGroups), a group of more than 100 members
(ListGroupMemberships), an account and permission set with more than 100 assignments
(ListAccountAssignments), and more than 50 role sign-ins of one kind (LookupEvents, 50 a page).
Around that sit the cases docs/contract.md "Report out" names: a permission set without a description,
direct user assignments, a user who reaches one account and permission set through two groups and
directly, an assigned group without members, a user name starting with `=`, names and
descriptions with commas, quotes, a line break and spreadsheet formula characters.

`expected_report()` computes the report from what was seeded, by docs/contract.md alone: it never looks
at what the function wrote.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

import rig
from rig import cloudtrail_events
from rig import organisation
from rig.cloudtrail_events import iso

HEADER = ["account", "PermissionSetArn", "PermissionSetName", "PermissionSetDescription", "Type", "GroupId",
          "GroupName", "Username", "UserId", "LastLogin", "AccountName", "DaysSinceLastLogin"]
NO_LOGIN = "NO_LOGIN_PRESENT"
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
ROLE_SIGN_INS = ("Federate", "GetRoleCredentials")

ACCOUNTS = 105            # > 100: two pages of ListAccountsForProvisionedPermissionSet, six of ListAccounts
BIG_GROUP_MEMBERS = 105   # > 100: two pages of ListGroupMemberships
DIRECT_ON_ONE_PAIR = 101  # with one group too: > 100 assignments on one account and permission set
FILLER_GROUPS = 100       # > 100 groups in all: two pages of ListGroups
BIG_SIGN_INS = 60         # > 50 GetRoleCredentials: two pages of LookupEvents


@dataclass
class Org:
    """What was seeded, by the spec's keys, with the ids AWS gave each thing."""
    tag: str
    instance_arn: str
    identity_store_id: str
    spec: dict
    ids: dict = field(default_factory=dict)  # organisation.py's ids, filled as seeding goes
    sign_ins: list[dict] = field(default_factory=list)  # what the CloudTrail records say, for the expected report

    @property
    def accounts(self) -> list[dict]:
        """{"id", "name"}, in creation order."""
        return [{"id": self.ids["accounts"][a["key"]], "name": a["name"]} for a in self.spec["accounts"]]

    @property
    def users(self) -> dict[str, dict]:
        return {u["key"]: {"id": self.ids["users"][u["key"]], "name": u["userName"]} for u in self.spec["users"]}

    @property
    def groups(self) -> dict[str, dict]:
        return {g["key"]: {"id": self.ids["groups"][g["key"]], "name": g["displayName"], "members": g["members"]}
                for g in self.spec["groups"]}

    @property
    def permission_sets(self) -> dict[str, dict]:
        return {p["key"]: {"arn": self.ids["permissionSets"][p["key"]], "name": p["name"], "description": p["description"]}
                for p in self.spec["permissionSets"]}

    @property
    def assignments(self) -> list[tuple[str, str, str, str]]:
        """(account id, permission set key, USER|GROUP, principal key)."""
        return [(self.ids["accounts"][a["account"]], a["permissionSet"], a["principalType"], a["principal"])
                for a in self.spec["assignments"]]

    def account(self, index: int) -> str:
        return self.accounts[index]["id"]

    def provisioned_pairs(self) -> set[tuple[str, str]]:
        """(account id, permission set ARN) pairs provisioned, as AWS keeps them."""
        pairs = {(a["account"], a["permissionSet"]) for a in self.spec["assignments"] + self.spec["provisionedOnly"]}
        return {(self.ids["accounts"][account], self.ids["permissionSets"][ps]) for account, ps in pairs}


# --- the organisation, as an organisation.py spec ------------------------------------------------


def account_key(index: int) -> str:
    return f"a{index:03d}"


def build_spec(tag: str) -> dict:
    """The organisation of the module docstring, in organisation.py's spec format."""
    def user(key: str, name: str) -> dict:
        return {"key": key, "userName": name, "displayName": name, "givenName": "Report", "familyName": key,
                "email": f"cr-{tag}-{key}@example.com"}

    def group(key: str, name: str, members: list[str]) -> dict:
        return {"key": key, "displayName": name, "description": None, "members": members}

    special = {0: f'Payments, "EU" {tag}', 3: f"-legacy {tag}", 5: f"+plus {tag}", 9: f"@ops {tag}"}
    accounts = [{"key": account_key(index), "name": special.get(index, f"cr {tag} {index:03d}"),
                 "email": f"cr-{tag}-{index}@example.com"} for index in range(ACCOUNTS)]
    big = [f"b{number:03d}" for number in range(BIG_GROUP_MEMBERS)]
    users = [user(key, f"cr-{tag}-{key}") for key in big + ["multi", "g1b", "legacy", "g2a"]]
    users.append(user("formula", f'=HYPERLINK("https://example.com/{tag}")'))
    groups = [group("big", f"cr {tag} big", big), group("g1", f'Ops, "core" {tag}', ["multi", "g1b", "legacy"]),
              group("g2", f"-admins {tag}", ["multi", "g2a"]), group("empty", f"cr {tag} empty", [])]
    groups += [group(f"filler{number:03d}", f"cr {tag} filler {number:03d}", []) for number in range(FILLER_GROUPS)]
    permission_sets = [{"key": key, "name": name, "description": description} for key, name, description in (
        ("A", f"CRRead-{tag}", 'Read only, for "auditors"'),
        ("B", f"CRDeploy-{tag}", None),
        ("C", f"@CRAudit-{tag}", "+1 approver\nrequired"),
        ("D", f"CRSpare-{tag}", "provisioned, never assigned"),
        ("E", f"CR,Ops-{tag}", "\ttabbed"),
        ("F", f"CRSpare2-{tag}", None),
    )]
    wanted = [(index, "A", "GROUP", "g1") for index in range(ACCOUNTS)]
    wanted += [(4, "A", "USER", key) for key in big[:DIRECT_ON_ONE_PAIR]]
    wanted += [
        (0, "B", "GROUP", "big"),
        # "multi" reaches account 1 through PS B by two groups and directly: three rows.
        (1, "B", "GROUP", "g1"),
        (1, "B", "GROUP", "g2"),
        (1, "B", "USER", "multi"),
        (2, "B", "GROUP", "empty"),
        (2, "C", "USER", "formula"),
        (3, "C", "USER", "legacy"),
        (9, "E", "GROUP", "g2"),
    ]
    assignments = [{"account": account_key(index), "permissionSet": ps, "principalType": kind, "principal": key}
                   for index, ps, kind, key in wanted]
    return {"version": organisation.SPEC_VERSION, "tag": tag, "seed": 0, "users": users, "groups": groups,
            "accounts": accounts, "permissionSets": permission_sets, "assignments": assignments, "provisionedOnly": []}


def seed(state: dict, org: Org) -> None:
    """Builds org.spec through the public APIs (organisation.seed_with_boto3), filling org.ids as
    it goes, so that remove() can undo a seed that failed half way."""
    organisation.seed_with_boto3(lambda service: rig.client(state, service), org.spec, org.instance_arn,
                                 org.identity_store_id, ids=org.ids)


def provision_without_assignments(state: dict, org: Org, more_than: int) -> None:
    """ProvisionPermissionSet to accounts where the permission set has no assignment (the two
    spare sets first, then the others) until more than `more_than` (account, permission set)
    pairs are provisioned: more pairs, no more rows, no more accounts."""
    sso = rig.client(state, "sso-admin")
    provisioned = {(a["account"], a["permissionSet"]) for a in org.spec["assignments"] + org.spec["provisionedOnly"]}
    for ps in ("D", "F", "B", "C", "E"):
        for account in org.spec["accounts"]:
            if len(provisioned) > more_than:
                return
            pair = {"account": account["key"], "permissionSet": ps}
            if (pair["account"], ps) in provisioned:
                continue
            sso.provision_permission_set(**organisation.provision_permission_set_request(pair, org.ids))
            org.spec["provisionedOnly"].append(pair)
            provisioned.add((pair["account"], ps))
    assert len(provisioned) > more_than, f"{len(provisioned)} pairs at most, not more than {more_than}"


def remove(state: dict, org: Org) -> None:
    """Deletes what seed() made in Identity Center (accounts cannot leave moto's organisation
    cheaply; unassigned, they are in no report). An assignment a failed seed never made is
    not found, and that is all."""
    sso, store = rig.client(state, "sso-admin"), rig.client(state, "identitystore")
    ids = org.ids
    for assignment in org.spec["assignments"]:
        principals = ids.get("users" if assignment["principalType"] == "USER" else "groups", {})
        if assignment["permissionSet"] not in ids.get("permissionSets", {}) or assignment["principal"] not in principals:
            continue
        try:
            sso.delete_account_assignment(**organisation.create_account_assignment_request(assignment, ids))
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
    for arn in ids.get("permissionSets", {}).values():
        sso.delete_permission_set(InstanceArn=org.instance_arn, PermissionSetArn=arn)
    for group_id in ids.get("groups", {}).values():
        store.delete_group(IdentityStoreId=org.identity_store_id, GroupId=group_id)
    for user_id in ids.get("users", {}).values():
        store.delete_user(IdentityStoreId=org.identity_store_id, UserId=user_id)


# --- CloudTrail ------------------------------------------------------------------------------


def role_sign_ins(org: Org, as_of: dt.datetime) -> list[dict]:
    """CloudTrail records of users taking permission set roles, around `as_of`; each is also
    noted in org.sign_ins (who, where, when, whether it failed) for the expected report."""
    records = []

    def add(user: str | None, when: dt.datetime, account: int, ps: str, kind: str = "GetRoleCredentials",
            old_format: bool = False, error: str | None = None, name: str | None = None, role: str | None = None) -> None:
        user_id = org.users[user]["id"] if user else f"00000000-0000-0000-0000-{len(records):012d}"
        user_name = name or (org.users[user]["name"] if user else None)
        role_name = role or org.permission_sets[ps]["name"]
        record = cloudtrail_events.role_sign_in(user_id, user_name, when, org.account(account), role_name, kind=kind,
                                                old_format=old_format)
        if error:
            record.update(errorCode=error, errorMessage=f"{error} (seeded)", responseElements=None)
            record["eventID"] = cloudtrail_events.stable_id("failed", record["eventID"])
        records.append(record)
        org.sign_ins.append({"userId": None if old_format else user_id, "userName": user_name if old_format else None,
                             "account": org.account(account), "role": role_name, "time": when.replace(microsecond=0),
                             "name": kind, "failed": error is not None})

    day, hour = dt.timedelta(days=1), dt.timedelta(hours=1)
    # More than a page of GetRoleCredentials: the big group's members in account 0 through PS B.
    for number in range(BIG_SIGN_INS):
        add(f"b{number:03d}", as_of - (number * 11 + 1) * hour, 0, "B")
    add("b000", as_of - 20 * day, 0, "B", kind="Federate")  # older than b000's latest: not the one shown
    # "multi": one latest sign-in for the three paths to account 1 through PS B.
    add("multi", as_of - 3 * day - dt.timedelta(minutes=17), 1, "B", kind="Federate")
    add("multi", as_of - 5 * day, 1, "B")
    add("multi", as_of + hour, 1, "B", kind="Federate")  # after asOf: outside the window
    add("multi", as_of - 10 * day - 4 * hour, 5, "A")
    add("multi", as_of - 2 * day, 1, "C")  # a role multi has no assignment for in account 1
    # "legacy": old-format records (user named, no onBehalfOf), matched by user name.
    add("legacy", as_of - 2 * day - 5 * hour, 3, "C", old_format=True)
    add("legacy", as_of - 4 * day, 3, "C")
    add("legacy", as_of - 6 * day, 6, "A", kind="Federate", old_format=True)
    add(None, as_of - day, 0, "A", old_format=True, name=f"cr-{org.tag}-nobody")  # no such user
    # The "=" user, just inside the window.
    add("formula", as_of - 29 * day - 23 * hour, 2, "C", kind="Federate")
    # "g1b": one sign-in before the window, one that failed.
    add("g1b", as_of - 31 * day, 7, "A")
    add("g1b", as_of - day, 8, "A", error="AccessDenied")
    # "g2a" through the permission set whose name holds a comma.
    add("g2a", as_of - 7 * day - 3 * hour, 9, "E")
    return records


# --- the expected report ---------------------------------------------------------------------


def neutralised(cell: str) -> str:
    """docs/contract.md: a cell a spreadsheet would run as a formula is neutralised. The usual way
    (OWASP, "CSV Injection") is a leading apostrophe, which is what is expected here."""
    return "'" + cell if cell.startswith(FORMULA_LEADS) else cell


def last_login(org: Org, user: dict, account: str, role: str, start: dt.datetime, end: dt.datetime) -> dt.datetime | None:
    times = [
        s["time"] for s in org.sign_ins
        if s["name"] in ROLE_SIGN_INS and not s["failed"] and s["account"] == account and s["role"] == role
        and start <= s["time"] <= end
        and (s["userId"] == user["id"] if s["userId"] is not None else s["userName"] == user["name"])
    ]
    return max(times, default=None)


def expected_report(org: Org, as_of: dt.datetime, lookback_days: int) -> list[list[str]]:
    """Header and rows, cell by cell, as docs/contract.md "Report out" describes them."""
    start = as_of - dt.timedelta(days=lookback_days)
    names = {account["id"]: account["name"] for account in org.accounts}
    rows = []
    for account, ps_key, kind, key in org.assignments:
        ps = org.permission_sets[ps_key]
        if kind == "USER":
            paths = [(org.users[key], None)]
        else:
            group = org.groups[key]
            paths = [(org.users[member], group) for member in group["members"]]
        for user, group in paths:
            login = last_login(org, user, account, ps["name"], start, as_of)
            rows.append([
                account, ps["arn"], ps["name"], ps["description"] or "", kind,
                group["id"] if group else "", group["name"] if group else "", user["name"], user["id"],
                iso(login) if login else NO_LOGIN, names[account],
                str((as_of - login) // dt.timedelta(days=1)) if login else "",
            ])
    # Sorted by account, permission set name, user name, group name (unneutralised values).
    rows.sort(key=lambda row: (row[0], row[2], row[7], row[6]))
    return [HEADER] + [[neutralised(cell) for cell in row] for row in rows]


def parse_csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


def record_separators(body: bytes) -> list[bytes]:
    """Every line break outside a quoted field (RFC 4180's record separators), as found in the
    raw bytes: each must be CRLF."""
    separators, quoted, index = [], False, 0
    while index < len(body):
        byte = body[index:index + 1]
        if byte == b'"':
            quoted = not quoted
        elif not quoted and byte in (b"\r", b"\n"):
            pair = body[index:index + 2]
            separators.append(pair if pair == b"\r\n" else byte)
            index += len(separators[-1])
            continue
        index += 1
    return separators
