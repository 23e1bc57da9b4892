"""The benchmark's rigs: each a moto and CloudTrail fake of its own, with the resources and the
function users a benchmark organisation needs, and what a function's run under the emulator says."""
from __future__ import annotations

import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import rig
from rig import fixtures
from rig.deploy import function_environment, render_policy, policy_values as deploy_policy_values
from rig.deploy import function_variables as deploy_function_variables

ROOT = Path(__file__).resolve().parents[1]

MONITORS = ["password-expiry-monitor", "inactivity-monitor"]
REPORT_PREFIX = "credential_reports/"
LOOKUP_RATE = 2  # the CloudTrail fake's LookupEvents limit, a second (AWS's)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the rig ----------------------------------------------------------------------------------


class Rig:
    """One rig of the benchmark's own, in its temporary directory."""

    def __init__(self, directory: Path, name: str):
        self.path = directory / f"rig-{name}.json"
        self.state = rig.start(self.path)
        self.context = rig.FixtureContext(self.state)

    def stop(self) -> None:
        rig.stop(self.path)

    def client(self, service: str):
        return rig.client(self.state, service)

    def knobs(self, **config) -> dict:
        return fixtures.rig_config(self.context, config, reset=True)

    def stats(self, reset: bool = False) -> dict:
        return fixtures.rig_stats(self.context, reset=reset)

    def fake(self, method: str, route: str, body=None):
        return rig.cloudtrail_admin(self.state, method, route, body)

    def seed(self, spec: dict) -> dict:
        return fixtures.seed_organisation(self.context, spec=spec)

    def load_events(self, records: list[dict]) -> float:
        """Stores the records in the CloudTrail fake; the seconds it took (the fake inserts into its
        Lake table too, a few milliseconds a record)."""
        started = time.monotonic()
        self.fake("DELETE", "events")
        for start in range(0, len(records), 2000):
            self.fake("POST", "events", records[start:start + 2000])
        return time.monotonic() - started

    def function_user(self, product: str, values: dict) -> dict:
        return fixtures.create_function_user(self.context, f"{product}-{uuid.uuid4().hex[:8]}", render_policy(product, values))

    def environment(self, credentials: dict, **variables) -> dict:
        return function_environment(self.state, credentials, **variables)

    def resources(self, tag: str) -> dict:
        """A registry table, an activity ledger, an alert queue and a report bucket."""
        table = fixtures.create_table(self.context, f"registry-{tag}")["tableName"]
        ledger = fixtures.create_table(self.context, f"activity-{tag}", sort_key="Scope")["tableName"]
        sqs = self.client("sqs")
        queue_url = sqs.create_queue(QueueName=f"alerts-{tag}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bucket = f"reports-{tag}"
        self.client("s3").create_bucket(Bucket=bucket)
        return {"registry_table": table, "activity_table": ledger, "alert_queue_url": queue_url, "alert_queue_arn": queue_arn,
                "report_bucket": bucket}

    def empty_ledger(self, ledger: str) -> None:
        """Forgets what the monitors have read of CloudTrail: the next run reads its whole window."""
        dynamodb = self.client("dynamodb")
        for page in dynamodb.get_paginator("scan").paginate(TableName=ledger, ProjectionExpression="UserId, #s",
                                                            ExpressionAttributeNames={"#s": "Scope"}):
            for item in page["Items"]:
                dynamodb.delete_item(TableName=ledger, Key=item)

    def put_registry(self, table: str, items: list[dict]) -> float:
        """The registry's items, 25 to a BatchWriteItem, as rig-admin."""
        started, dynamodb = time.monotonic(), self.client("dynamodb")
        for start in range(0, len(items), 25):
            pending = {table: [{"PutRequest": {"Item": {k: {"S": v} for k, v in item.items()}}}
                               for item in items[start:start + 25]]}
            while pending:
                pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None
        return time.monotonic() - started


@contextmanager
def running_rig(directory: Path, name: str):
    log(f"starting rig {name}")
    one = Rig(directory, name)
    try:
        yield one
    finally:
        one.stop()
        log(f"stopped rig {name}")


def policy_values(state: dict, ids: dict, resources: dict) -> dict[str, str]:
    """The policy templates' values for one benchmark organisation's resources."""
    return deploy_policy_values(state, ids, registry_table=resources["registry_table"], activity_table=resources["activity_table"],
                                alert_queue_arn=resources["alert_queue_arn"], report_bucket=resources["report_bucket"],
                                report_prefix=REPORT_PREFIX)


def function_variables(product: str, ids: dict, resources: dict) -> dict:
    """What infra/ sets for `product` on a benchmark organisation's resources."""
    named = {key: value for key, value in resources.items() if key != "alert_queue_arn"}
    return deploy_function_variables(product, ids["identityStoreId"], instance_arn=ids["instanceArn"],
                                     report_prefix=REPORT_PREFIX, **named)


def invocation_summary(result) -> dict:
    """What one emulator run says, JSON-able."""
    first = result.invocations[0] if result.invocations else None
    return {"coldStartMs": result.cold_start_ms, "firstInvocationMs": result.first_invocation_ms,
            "peakRssKb": result.peak_rss_kb,
            "status": first.status if first else None,
            "error": (first.error if first and first.status == "error" else None) or result.init_error,
            "timedOut": result.timed_out, "response": first.response if first else None}


def lookup_pages(stats: dict) -> int:
    return stats.get("operations", {}).get("LookupEvents", 0)


def operation(moto: dict, service: str, name: str) -> dict | None:
    return moto["services"].get(service, {}).get("operations", {}).get(name)
