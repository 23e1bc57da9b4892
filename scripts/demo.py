#!/usr/bin/env python3
"""The whole job on a demo organisation, locally: what scripts/demo runs after building.

Starts the local AWS rig, creates an Identity Center organisation with 200 days of history,
deploys the resources as infra/ names them with each function's own IAM policy, runs the five
shipped zips (with the runtime-libs layer, as Lambda runs them) under the Lambda Runtime API
emulator, and shows what a user wants to see.
Everything it shows is saved under demo-output/.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from pathlib import Path

import rig
from rig import cloudtrail_events as ct
from rig import deploy
from rig import organisation

ROOT = Path(__file__).resolve().parents[1]

OUTPUT = ROOT / "demo-output"
ZIP_DIR = ROOT / ".build" / "lambda"
PREFIX = "idc-compliance"  # infra/'s default name_prefix
USERS = 300
BREAK_GLASS = "breakglass-admin"
HISTORY_DAYS = 200


def demo_spec(rng: random.Random) -> dict:
    """The demo organisation in organisation.py's spec format: teams in groups over six named
    accounts, and a break-glass user who reaches every account directly. Permission sets are
    keyed by their names."""
    users = [organisation.person(organisation.user_key(index), f"demo-user-{index + 1:04d}", "Demo", f"User {index + 1}")
             for index in range(USERS - 1)]
    glass = organisation.person("breakglass", BREAK_GLASS, "Break", "Glass", display_name="Break-glass administrator")
    accounts = [{"key": organisation.account_key(index), "name": name, "email": f"{name}@example.com"}
                for index, name in enumerate(("prod-payments", "prod-web", "staging", "sandbox", "security-tooling", "log-archive"))]
    permission_sets = [{"key": name, "name": name, "description": description} for name, description in (
        ("AdministratorAccess", "Full access"), ("ReadOnlyAccess", "Read-only access to everything"),
        ("PaymentsOperator", None), ("SecurityAudit", "Auditors' view"))]
    groups = [{"key": name, "displayName": name, "description": None,
               "members": sorted(user["key"] for user in rng.sample(users, int((len(users) + 1) * share)))}
              for name, share in (("platform-admins", 0.05), ("developers", 0.5), ("payments-ops", 0.1), ("auditors", 0.05))]
    keys = [account["key"] for account in accounts]
    plan = [("platform-admins", "AdministratorAccess", keys), ("developers", "ReadOnlyAccess", keys[1:4]),
            ("payments-ops", "PaymentsOperator", keys[:1]), ("auditors", "SecurityAudit", keys)]
    assignments = [{"account": account, "permissionSet": permission_set, "principalType": "GROUP", "principal": group}
                   for group, permission_set, targets in plan for account in targets]
    assignments += [{"account": account, "permissionSet": "AdministratorAccess", "principalType": "USER",
                     "principal": glass["key"]} for account in keys]
    return {"version": organisation.SPEC_VERSION, "tag": "demo", "seed": 2026, "users": users + [glass], "groups": groups,
            "accounts": accounts, "permissionSets": permission_sets, "assignments": assignments, "provisionedOnly": []}


def say(text: str) -> None:
    print(text, flush=True)


class Demo:
    def __init__(self, state_path: Path):
        self.state_path = state_path
        self.state = rig.read_state(state_path)
        self.sso = rig.call(state_path, "identity_store")
        self.store = self.sso["identityStoreId"]
        self.store_arn = f"arn:aws:identitystore::{self.state['accountId']}:identitystore/{self.store}"
        self.now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.random = random.Random(2026)
        self.timings: list[str] = []

    def admin(self, service: str):
        return rig.client(self.state, service)

    # --- the organisation -----------------------------------------------------------------------

    def create_organisation(self) -> None:
        say(f"==> Creating the demo organisation: {USERS} users, groups, accounts, permission sets")
        spec = demo_spec(self.random)
        ids = rig.call(self.state_path, "seed_organisation", spec=spec)
        self.users = [(ids["users"][user["key"]], user["userName"]) for user in spec["users"]]  # break-glass last
        self.accounts = {ids["accounts"][account["key"]]: account["name"] for account in spec["accounts"]}
        self.permission_sets = {ps["name"]: ids["permissionSets"][ps["key"]] for ps in spec["permissionSets"]}
        # What each user can reach, so that their role sign-ins are to roles they hold.
        self.reachable = {ids["users"][user]: [(ids["accounts"][account], permission_set) for account, permission_set in pairs]
                          for user, pairs in organisation.accesses(spec).items()}
        say(f"    {len(self.users)} users, {len(spec['groups'])} groups, {len(self.accounts)} accounts, "
            f"{len(self.permission_sets)} permission sets, {len(spec['assignments'])} assignments")

    def record_history(self) -> None:
        """CloudTrail as 200 days of a real organisation would leave it (LookupEvents keeps 90)."""
        say(f"==> Writing {HISTORY_DAYS} days of CloudTrail history: sign-ins, password changes, role sign-ins")
        records = []
        for index, (user_id, name) in enumerate(self.users):
            habit = self.random.random()
            if habit < 0.6:  # regular users: a sign-in every week or two
                days = range(self.random.randint(0, 5), HISTORY_DAYS, self.random.randint(7, 20))
            elif habit < 0.85:  # drifted away: last seen 60-180 days ago
                days = range(self.random.randint(60, 180), HISTORY_DAYS, 15)
            else:  # never signed in
                days = range(0)
            for day in days:
                when = self.now - dt.timedelta(days=day, minutes=self.random.randint(0, 600))
                records.append(ct.sign_in(user_id, name, when, identity_store_arn=self.store_arn,
                                          kind=self.random.choice(["UserAuthentication", "CredentialVerification"]),
                                          old_format=day > 150))
                if self.random.random() < 0.03:
                    records.append(ct.sign_in(user_id, name, when - dt.timedelta(minutes=1), identity_store_arn=self.store_arn,
                                              kind="CredentialVerification", success=False))
                if self.random.random() < 0.5 and self.reachable.get(user_id):
                    account, permission_set = self.random.choice(self.reachable[user_id])
                    records.append(ct.role_sign_in(user_id, name, when + dt.timedelta(minutes=2), account, permission_set,
                                                   identity_store_arn=self.store_arn))
            if self.random.random() < 0.5:
                changed = self.now - dt.timedelta(days=self.random.randint(1, HISTORY_DAYS))
                records.append(ct.password_change(user_id, changed, identity_store_arn=self.store_arn))
        rig.cloudtrail_admin(self.state, "DELETE", "events")
        for first in range(0, len(records), 1000):
            rig.cloudtrail_admin(self.state, "POST", "events", records[first:first + 1000])
        say(f"    {len(records)} CloudTrail records")

    # --- deployment, as infra/ names it -----------------------------------------------------------

    def deploy(self) -> None:
        say("==> Deploying as infra/ would: registry table, activity ledger, alert queue and topic, report bucket, "
            "Security Hub, one IAM user per function")
        self.table = f"{PREFIX}-registry"
        rig.call(self.state_path, "create_table", name=self.table)
        self.ledger = f"{PREFIX}-activity"
        rig.call(self.state_path, "create_table", name=self.ledger, sort_key="Scope")
        sqs = self.admin("sqs")
        self.queue_url = sqs.create_queue(QueueName=f"{PREFIX}-alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # The alert topic; an SQS queue subscribed to it stands for the security team's mailbox.
        topic_arn = self.admin("sns").create_topic(Name=f"{PREFIX}-alert-topic")["TopicArn"]
        self.inbox_url = sqs.create_queue(QueueName=f"{PREFIX}-mailbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=self.inbox_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.admin("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
        self.admin("securityhub").enable_security_hub()
        self.bucket = f"{PREFIX}-reports-{self.state['accountId']}-{self.state['region']}"
        self.admin("s3").create_bucket(Bucket=self.bucket)
        values = deploy.policy_values(self.state, self.sso, registry_table=self.table, activity_table=self.ledger,
                                      alert_queue_arn=queue_arn, alert_topic_arn=topic_arn,
                                      report_bucket=self.bucket, report_prefix="credential_reports/")
        resources = {"registry_table": self.table, "activity_table": self.ledger, "alert_queue_url": self.queue_url,
                     "alert_topic_arn": topic_arn, "findings": "securityhub", "instance_arn": self.sso["instanceArn"],
                     "report_bucket": self.bucket}
        extra = {"AWS_LAMBDA_LOG_LEVEL": "INFO"}
        self.environments = {}
        for product in deploy.PRODUCTS:
            credentials = deploy.function_credentials(self.state_path, product, values)
            variables = deploy.function_variables(product, self.store, **resources)
            if product in ("password-expiry-monitor", "inactivity-monitor"):
                variables["EXCLUDED_USERS"] = BREAK_GLASS
            self.environments[product] = deploy.function_environment(self.state, credentials, **variables, **extra)

    # --- running the functions -------------------------------------------------------------------

    def run(self, product: str, events: list, what: str) -> list:
        result = deploy.shipped_packages(ZIP_DIR).run(product, events, self.environments[product],
                                                      function_name=f"{PREFIX}-{product}")
        if result.init_error:
            raise SystemExit(f"{product} failed to start: {result.init_error}")
        failed = [i for i in result.invocations if i.status != "success"]
        self.timings.append(f"{product:<24} {what:<34} {len(events):>3} events  cold start {result.cold_start_ms:6.1f} ms  "
                            f"handler {sum(i.duration_ms or 0 for i in result.invocations):8.1f} ms  "
                            f"peak RSS {result.peak_rss_kb / 1024:5.1f} MB  ({len(failed)} failed)")
        for invocation in failed:
            say(f"    {product}: {invocation.error}")
        return [i.response for i in result.invocations if i.status == "success"]

    def lifecycle(self) -> None:
        say("==> registry-writer: CreateUser events from the console, the Identity Store API and SCIM")
        # 30 users' events never arrive (they predate the deployment, or EventBridge dropped them).
        announced = self.users[30:]
        sources = ["sso-directory"] * 6 + ["identitystore"] * 3 + ["identitystore-scim"]
        events = []
        for user_id, name in announced:
            created = self.now - dt.timedelta(days=self.random.randint(1, HISTORY_DAYS), hours=self.random.randint(0, 23))
            events.append(deploy.eventbridge(ct.create_user(self.random.choice(sources), user_id, name, created, identity_store_id=self.store)))
        events.append(events[0])  # EventBridge delivers at least once: a replay changes nothing
        self.run("registry-writer", events, "CreateUser events (one replayed)")
        say(f"    registry: {self.registry_size()} users")

        say("==> registry-writer: the daily reconcile adds the users whose events never came")
        [change] = self.run("registry-writer", [deploy.SCHEDULED_EVENT], "reconcile")
        say(f"    {change['added']} added from the identity store; registry: {self.registry_size()} users")

        say("==> registry-cleaner: DeleteUser events, then the daily reconcile")
        leavers = self.users[40:45]
        identitystore = self.admin("identitystore")
        for user_id, _ in leavers:
            # AWS drops a deleted user's group memberships; moto keeps them, so the demo does it.
            for membership in identitystore.list_group_memberships_for_member(
                    IdentityStoreId=self.store, MemberId={"UserId": user_id})["GroupMemberships"]:
                identitystore.delete_group_membership(IdentityStoreId=self.store, MembershipId=membership["MembershipId"])
            identitystore.delete_user(IdentityStoreId=self.store, UserId=user_id)
        self.users = [user for user in self.users if user not in leavers]
        deletes = [deploy.eventbridge(ct.delete_user("identitystore", user_id, self.now, identity_store_id=self.store))
                   for user_id, _ in leavers[:4]]  # the fifth event is lost
        self.run("registry-cleaner", deletes, "DeleteUser events")
        [change] = self.run("registry-cleaner", [deploy.SCHEDULED_EVENT], "reconcile")
        say(f"    {change['removed']} more removed by the reconcile; registry: {self.registry_size()} users")

    def registry_size(self) -> int:
        return len(self.scan_registry())

    def scan_registry(self) -> list[dict]:
        items, start = [], None
        while True:
            page = self.admin("dynamodb").scan(TableName=self.table, **({"ExclusiveStartKey": start} if start else {}))
            items += page["Items"]
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    def monitors(self) -> None:
        for product, file in (("password-expiry-monitor", "alerts-password-expiry.json"),
                              ("inactivity-monitor", "alerts-inactivity.json")):
            say(f"==> {product}: the catch-up reads CloudTrail into the activity ledger, then the daily run judges")
            [caught] = self.run(product, [{"catchUp": True}], "catch-up")
            say(f"    catch-up: CloudTrail read from {caught['coveredFrom']} to {caught['coveredUntil']}, "
                f"{caught['evidenceRecorded']} dates remembered in the registry")
            [summary] = self.run(product, [deploy.SCHEDULED_EVENT], "daily schedule")
            messages = self.drain_queue()
            (OUTPUT / file).write_text(json.dumps(messages, indent=2) + "\n")
            say(f"    {summary['usersChecked']} users checked: {summary['expired']} expired, {summary['warning']} warning, "
                f"{summary['skipped']} skipped (SCIM), {summary['excluded']} excluded (break-glass), "
                f"{summary['disabled']} disabled and {summary['gone']} gone from the store (not alerted); "
                f"{summary['messagesSent']} alert message(s); only CloudTrail's newest events read again")
            flagged = [user for message in messages for user in message["users"]]
            # A few of each kind: expired with a date, expired with no evidence at all, warnings.
            shown = ([u for u in flagged if u["status"] == "EXPIRED" and u["lastEventAt"]][:3]
                     + [u for u in flagged if u["lastEventAt"] is None][:2]
                     + [u for u in flagged if u["status"] == "WARNING"][:3])
            for user in shown:
                why = f"{user['daysSince']} days since {user['lastEventAt']}" if user["lastEventAt"] else "no evidence at all"
                say(f"      {user['status']:<8} {user['userName']:<18} {why}")
            if len(flagged) > len(shown):
                say(f"      … {len(flagged)} in all in demo-output/{file}")
            mails = self.drain(self.inbox_url)
            say(f"    the alert topic mailed {len(mails)} message(s): \"{mails[0]['Subject']}\"" if mails else
                "    the alert topic mailed nothing")
            findings = self.findings(summary["alertType"])
            (OUTPUT / file.replace("alerts-", "findings-")).write_text(json.dumps(findings, indent=2) + "\n")
            kinds = {}
            for finding in findings:
                kinds[finding["Compliance"]["Status"]] = kinds.get(finding["Compliance"]["Status"], 0) + 1
            say(f"    Security Hub: {len(findings)} findings ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}), "
                f"one per flagged user, in demo-output/{file.replace('alerts-', 'findings-')}")

    def findings(self, alert_type: str) -> list[dict]:
        hub, found = self.admin("securityhub"), []
        for page in hub.get_paginator("get_findings").paginate(
                Filters={"GeneratorId": [{"Value": f"idc-compliance/{alert_type}", "Comparison": "EQUALS"}]}):
            found += page["Findings"]
        return found

    def drain_queue(self) -> list[dict]:
        return sorted(self.drain(self.queue_url), key=lambda message: message["part"])

    def drain(self, queue_url: str) -> list[dict]:
        messages, sqs = [], self.admin("sqs")
        while True:
            answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            if not answer.get("Messages"):
                return messages
            for message in answer["Messages"]:
                messages.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def report(self) -> None:
        say("==> credential-report")
        [result] = self.run("credential-report", [{}], "manual invoke")
        key = result["s3Uri"].split("/", 3)[3]
        body = self.admin("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()
        (OUTPUT / "credential_report.csv").write_bytes(body)
        say(f"    {result['s3Uri']}: {result['rows']} rows for {result['users']} users, {result['accounts']} accounts, "
            f"{result['permissionSets']} permission sets; {result['apiCalls']} API calls ({result['enumeration']})")
        rows = list(csv.reader(io.StringIO(body.decode())))
        columns = ["account", "PermissionSetName", "Type", "GroupName", "Username", "LastLogin", "DaysSinceLastLogin"]
        indices = [rows[0].index(column) for column in columns]
        first = rows[1:4]
        signed_in = [row for row in rows[4:] if row[rows[0].index("LastLogin")] != "NO_LOGIN_PRESENT"]
        for row in [rows[0]] + first + signed_in[:3]:
            say("      " + "  ".join(f"{row[i]:<20}"[:20] for i in indices))


def main() -> None:
    OUTPUT.mkdir(exist_ok=True)
    state_path = ROOT / ".rig" / "demo-state.json"
    rig.stop(state_path)
    say("==> Starting the local AWS rig (moto with SigV4 and IAM enforced, the CloudTrail fake)")
    rig.start(state_path)
    try:
        demo = Demo(state_path)
        demo.create_organisation()
        demo.record_history()
        demo.deploy()
        demo.lifecycle()
        demo.monitors()
        demo.report()
        say("\n==> Timings (each function's zip and the runtime-libs layer under the Runtime API emulator)")
        for line in demo.timings:
            say("    " + line)
        say(f"\nSaved: {', '.join(sorted(path.name for path in OUTPUT.iterdir()))} in demo-output/")
    finally:
        rig.stop(state_path)


if __name__ == "__main__":
    main()
