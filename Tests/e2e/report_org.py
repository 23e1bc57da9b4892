"""The organisation the credential-report end-to-end tests seed, and the report it must give.

`seed()` builds, as rig-admin, an organisation larger than one page of every list the report
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

import cloudtrail_events
from cloudtrail_events import iso
import rig

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
    tag: str
    instance_arn: str
    identity_store_id: str
    accounts: list[dict] = field(default_factory=list)           # {"id", "name"}, in creation order
    users: dict[str, dict] = field(default_factory=dict)         # key -> {"id", "name"}
    groups: dict[str, dict] = field(default_factory=dict)        # key -> {"id", "name", "members": [user keys]}
    permission_sets: dict[str, dict] = field(default_factory=dict)  # key -> {"arn", "name", "description"}
    assignments: list[tuple[str, str, str, str]] = field(default_factory=list)  # (account id, ps key, USER|GROUP, key)
    provisioned_only: set[tuple[str, str]] = field(default_factory=set)  # (account id, ps key) without assignments
    sign_ins: list[dict] = field(default_factory=list)  # what the CloudTrail records say, for the expected report

    def account(self, index: int) -> str:
        return self.accounts[index]["id"]

    def provisioned_pairs(self) -> set[tuple[str, str]]:
        """(account id, permission set ARN) pairs provisioned, as AWS keeps them."""
        pairs = {(account, self.permission_sets[ps]["arn"]) for account, ps, _, _ in self.assignments}
        return pairs | {(account, self.permission_sets[ps]["arn"]) for account, ps in self.provisioned_only}


# --- seeding ----------------------------------------------------------------------------------


def _organization_accounts(state: dict, org: Org) -> None:
    organizations = rig.client(state, "organizations")
    try:
        organizations.create_organization(FeatureSet="ALL")
    except ClientError as error:
        if error.response["Error"]["Code"] != "AlreadyInOrganizationException":
            raise
    special = {0: f'Payments, "EU" {org.tag}', 3: f"-legacy {org.tag}", 5: f"+plus {org.tag}", 9: f"@ops {org.tag}"}
    for index in range(ACCOUNTS):
        name = special.get(index, f"cr {org.tag} {index:03d}")
        status = organizations.create_account(Email=f"cr-{org.tag}-{index}@example.com", AccountName=name)
        status = status["CreateAccountStatus"]
        assert status["State"] == "SUCCEEDED", status
        org.accounts.append({"id": status["AccountId"], "name": name})


def _identity_store(state: dict, org: Org) -> None:
    store = rig.client(state, "identitystore")

    def user(key: str, name: str) -> None:
        user_id = store.create_user(IdentityStoreId=org.identity_store_id, UserName=name, DisplayName=name,
                                    Name={"GivenName": "Report", "FamilyName": key})["UserId"]
        org.users[key] = {"id": user_id, "name": name}

    def group(key: str, name: str, members: list[str]) -> None:
        group_id = store.create_group(IdentityStoreId=org.identity_store_id, DisplayName=name)["GroupId"]
        org.groups[key] = {"id": group_id, "name": name, "members": members}
        for member in members:
            store.create_group_membership(IdentityStoreId=org.identity_store_id, GroupId=group_id,
                                          MemberId={"UserId": org.users[member]["id"]})

    for number in range(BIG_GROUP_MEMBERS):
        user(f"b{number:03d}", f"cr-{org.tag}-b{number:03d}")
    user("multi", f"cr-{org.tag}-multi")
    user("g1b", f"cr-{org.tag}-g1b")
    user("legacy", f"cr-{org.tag}-legacy")
    user("g2a", f"cr-{org.tag}-g2a")
    user("formula", f'=HYPERLINK("https://example.com/{org.tag}")')
    group("big", f"cr {org.tag} big", [f"b{n:03d}" for n in range(BIG_GROUP_MEMBERS)])
    group("g1", f'Ops, "core" {org.tag}', ["multi", "g1b", "legacy"])
    group("g2", f"-admins {org.tag}", ["multi", "g2a"])
    group("empty", f"cr {org.tag} empty", [])
    for number in range(FILLER_GROUPS):
        group(f"filler{number:03d}", f"cr {org.tag} filler {number:03d}", [])


def _permission_sets(state: dict, org: Org) -> None:
    sso = rig.client(state, "sso-admin")
    specs = {
        "A": (f"CRRead-{org.tag}", 'Read only, for "auditors"'),
        "B": (f"CRDeploy-{org.tag}", None),
        "C": (f"@CRAudit-{org.tag}", "+1 approver\nrequired"),
        "D": (f"CRSpare-{org.tag}", "provisioned, never assigned"),
        "E": (f"CR,Ops-{org.tag}", "\ttabbed"),
        "F": (f"CRSpare2-{org.tag}", None),
    }
    for key, (name, description) in specs.items():
        request = {"InstanceArn": org.instance_arn, "Name": name}
        if description is not None:
            request["Description"] = description
        arn = sso.create_permission_set(**request)["PermissionSet"]["PermissionSetArn"]
        org.permission_sets[key] = {"arn": arn, "name": name, "description": description}


def _assign(state: dict, org: Org) -> None:
    sso = rig.client(state, "sso-admin")
    wanted = [(org.account(i), "A", "GROUP", "g1") for i in range(ACCOUNTS)]
    wanted += [(org.account(4), "A", "USER", f"b{n:03d}") for n in range(DIRECT_ON_ONE_PAIR)]
    wanted += [
        (org.account(0), "B", "GROUP", "big"),
        # "multi" reaches account 1 through PS B by two groups and directly: three rows.
        (org.account(1), "B", "GROUP", "g1"),
        (org.account(1), "B", "GROUP", "g2"),
        (org.account(1), "B", "USER", "multi"),
        (org.account(2), "B", "GROUP", "empty"),
        (org.account(2), "C", "USER", "formula"),
        (org.account(3), "C", "USER", "legacy"),
        (org.account(9), "E", "GROUP", "g2"),
    ]
    for account, ps, kind, key in wanted:
        principal = org.users[key]["id"] if kind == "USER" else org.groups[key]["id"]
        status = sso.create_account_assignment(
            InstanceArn=org.instance_arn, TargetId=account, TargetType="AWS_ACCOUNT",
            PermissionSetArn=org.permission_sets[ps]["arn"], PrincipalType=kind, PrincipalId=principal,
        )["AccountAssignmentCreationStatus"]
        assert status["Status"] == "SUCCEEDED", status
        org.assignments.append((account, ps, kind, key))
    for ps in sorted({ps for _, ps, _, _ in wanted}):
        sso.provision_permission_set(InstanceArn=org.instance_arn, PermissionSetArn=org.permission_sets[ps]["arn"],
                                     TargetType="ALL_PROVISIONED_ACCOUNTS")


def provision_without_assignments(state: dict, org: Org, more_than: int) -> None:
    """ProvisionPermissionSet to accounts where the permission set has no assignment (the two
    spare sets first, then the others) until more than `more_than` (account, permission set)
    pairs are provisioned: more pairs, no more rows, no more accounts."""
    sso = rig.client(state, "sso-admin")
    provisioned = org.provisioned_pairs()
    for ps in ("D", "F", "B", "C", "E"):
        arn = org.permission_sets[ps]["arn"]
        for account in org.accounts:
            if len(provisioned) > more_than:
                return
            if (account["id"], arn) in provisioned:
                continue
            sso.provision_permission_set(InstanceArn=org.instance_arn, PermissionSetArn=arn,
                                         TargetType="AWS_ACCOUNT", TargetId=account["id"])
            org.provisioned_only.add((account["id"], ps))
            provisioned.add((account["id"], arn))
    assert len(provisioned) > more_than, f"{len(provisioned)} pairs at most, not more than {more_than}"


def seed(state: dict, org: Org) -> None:
    """Fills `org`, which records each thing as it is made, so that remove() can undo a seed
    that failed half way."""
    _organization_accounts(state, org)
    _identity_store(state, org)
    _permission_sets(state, org)
    _assign(state, org)


def remove(state: dict, org: Org) -> None:
    """Deletes what seed() made in Identity Center (accounts cannot leave moto's organisation
    cheaply; unassigned, they are in no report)."""
    sso, store = rig.client(state, "sso-admin"), rig.client(state, "identitystore")
    for account, ps, kind, key in org.assignments:
        principal = org.users[key]["id"] if kind == "USER" else org.groups[key]["id"]
        sso.delete_account_assignment(InstanceArn=org.instance_arn, TargetId=account, TargetType="AWS_ACCOUNT",
                                      PermissionSetArn=org.permission_sets[ps]["arn"], PrincipalType=kind,
                                      PrincipalId=principal)
    for ps in org.permission_sets.values():
        sso.delete_permission_set(InstanceArn=org.instance_arn, PermissionSetArn=ps["arn"])
    for group in org.groups.values():
        store.delete_group(IdentityStoreId=org.identity_store_id, GroupId=group["id"])
    for user in org.users.values():
        store.delete_user(IdentityStoreId=org.identity_store_id, UserId=user["id"])


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
