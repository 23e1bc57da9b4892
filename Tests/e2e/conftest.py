"""End-to-end tests: each function runs as its built binary under the Lambda Runtime API emulator,
against the local rig (moto with signatures and IAM enforced, the CloudTrail fake), signed as an
IAM user whose only policy is the function's own infra/policies/<product>.json.

The binaries come from FUNCTION_BIN_DIR (default .build/debug: scripts/test builds them first).
One rig serves the whole session: the one RIG_STATE names, or one started here.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "rig"))

import lambda_emulator  # noqa: E402
import rig  # noqa: E402

BIN_DIR = Path(os.environ.get("FUNCTION_BIN_DIR", ROOT / ".build" / "debug"))
POLICY_DIR = ROOT / "infra" / "policies"
PLACEHOLDER = re.compile(r"\$\{([a-z_]+)\}")


@pytest.fixture(scope="session")
def rig_path(tmp_path_factory) -> Path:
    """The state file of the session's rig."""
    if os.environ.get("RIG_STATE"):
        yield Path(os.environ["RIG_STATE"])
        return
    path = tmp_path_factory.mktemp("rig") / "state.json"
    rig.start(path)
    try:
        yield path
    finally:
        rig.stop(path)


@pytest.fixture(scope="session")
def state(rig_path) -> dict:
    return rig.read_state(rig_path)


@pytest.fixture(scope="session")
def sso(rig_path) -> dict:
    """{"instanceArn", "identityStoreId"} of moto's Identity Center instance."""
    return rig.call(rig_path, "identity_store")


def unique(prefix: str) -> str:
    """A name no other test uses: tests share one rig."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def render_policy(product: str, values: dict[str, str]) -> dict:
    """infra/policies/<product>.json with its ${placeholders} filled, as Terraform's templatefile()
    does; a placeholder without a value is an error, as it is there."""
    text = (POLICY_DIR / f"{product}.json").read_text()
    missing = sorted(set(PLACEHOLDER.findall(text)) - values.keys())
    if missing:
        raise KeyError(f"{product}.json needs values for {missing}")
    return json.loads(PLACEHOLDER.sub(lambda match: values[match.group(1)], text))


def policy_values(state: dict, sso: dict, **resources: str) -> dict[str, str]:
    """The templates' values for the rig's account; `resources` names the test's own
    (registry_table, alert_queue_arn, report_bucket, report_prefix, event_data_store)."""
    account, region = state["accountId"], state["region"]
    key = f"arn:aws:kms:{region}:{account}:key/00000000-0000-0000-0000-000000000000"
    return {
        "partition": "aws",
        "region": region,
        "account_id": account,
        "identity_store_arn": f"arn:aws:identitystore::{account}:identitystore/{sso['identityStoreId']}",
        "instance_arn": sso["instanceArn"],
        "registry_table_arn": f"arn:aws:dynamodb:{region}:{account}:table/{resources.get('registry_table', 'none')}",
        "alert_queue_arn": resources.get("alert_queue_arn", f"arn:aws:sqs:{region}:{account}:none"),
        "report_bucket_arn": f"arn:aws:s3:::{resources.get('report_bucket', 'none')}",
        "report_prefix": resources.get("report_prefix", "credential_reports/"),
        "event_data_store_arn": f"arn:aws:cloudtrail:{region}:{account}:eventdatastore/{resources.get('event_data_store', 'none')}",
        "registry_kms_key_arn": key,
        "alert_kms_key_arn": key,
        "report_kms_key_arn": key,
    }


def function_credentials(rig_path: Path, product: str, values: dict[str, str]) -> dict:
    """A new IAM user with only the product's policy: the function's credentials."""
    return rig.call(rig_path, "create_function_user", name=unique(product), policy=render_policy(product, values))


def function_environment(state: dict, credentials: dict, **variables: str) -> dict[str, str]:
    """What Lambda would give the function: region, credentials, the rig's endpoints, its variables."""
    environment = {
        "AWS_REGION": state["region"],
        "AWS_ACCESS_KEY_ID": credentials["accessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["secretAccessKey"],
        "AWS_ENDPOINT_URL": state["moto"]["url"],
        "AWS_ENDPOINT_URL_CLOUDTRAIL": state["cloudtrail"]["url"],
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
    }
    environment.update({name: str(value) for name, value in variables.items()})
    return environment


def run_function(product: str, events: list, environment: dict, **options) -> lambda_emulator.EmulatorResult:
    """The product's built bootstrap under the Runtime API emulator."""
    bootstrap = BIN_DIR / product
    if not bootstrap.exists():
        raise FileNotFoundError(f"{bootstrap} is not built: run `swift build` (scripts/test does)")
    return lambda_emulator.run_function(str(bootstrap), events, env=environment, function_name=product, **options)


def eventbridge(record: dict) -> dict:
    """A CloudTrail record as EventBridge delivers it to the writer and the cleaner."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws." + record["eventSource"].split(".")[0],
        "account": record.get("recipientAccountId", "123456789012"),
        "time": record["eventTime"],
        "region": record.get("awsRegion", "us-east-1"),
        "resources": [],
        "detail": record,
    }


SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-21T06:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/daily"],
    "detail": {},
}


def log_lines(result: lambda_emulator.EmulatorResult) -> list[dict]:
    """The function's JSON log lines; a line that is not JSON fails the test."""
    return [json.loads(line) for line in result.stdout_lines + result.stderr_lines if line.strip()]


# --- time and the registry table, as the tests read them ---------------------------------------

ISO_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def iso(when: dt.datetime) -> str:
    """DESIGN.md's timestamp: ISO 8601 UTC to the second."""
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def new_table(rig_path: Path, items: list[dict[str, str]] = ()) -> str:
    """A registry table of a unique name, holding `items` (string attributes), as rig-admin."""
    table = rig.call(rig_path, "create_table", name=unique("registry"))["tableName"]
    dynamodb = rig.client(rig.read_state(rig_path), "dynamodb")
    for first in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": {k: {"S": v} for k, v in item.items()}}} for item in items[first:first + 25]]
        assert not dynamodb.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems")
    return table


def table_items(state: dict, table: str) -> dict[str, dict[str, str]]:
    """Every item, consistent read, all pages: {UserId: {attribute: string value}}."""
    dynamodb = rig.client(state, "dynamodb")
    items, start = {}, None
    while True:
        page = dynamodb.scan(TableName=table, ConsistentRead=True, **({"ExclusiveStartKey": start} if start else {}))
        for item in page["Items"]:
            plain = {name: value["S"] for name, value in item.items()}
            assert plain["UserId"] not in items, f"{plain['UserId']} appears twice in the scan"
            items[plain["UserId"]] = plain
        start = page.get("LastEvaluatedKey")
        if not start:
            return items
