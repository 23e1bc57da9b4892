"""End-to-end tests: each function runs as its built binary under the Lambda Runtime API emulator,
against the local rig (moto with signatures and IAM enforced, the CloudTrail fake), signed as an
IAM user whose only policy is the function's own infra/policies/<product>.json.

The functions are the shipped zips with their layer when FUNCTION_ZIP_DIR names them (scripts/test
does, after scripts/package), else the binaries of FUNCTION_BIN_DIR (default .build/debug).
One rig serves the whole session: the one RIG_STATE names, or one started here.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest

import rig
from rig import lambda_emulator
from rig.cloudtrail_events import iso  # noqa: F401  (docs/contract.md's timestamp: ISO 8601 UTC to the second)
from rig.deploy import (  # noqa: F401  (the test modules import these from here)
    SCHEDULED_EVENT,
    eventbridge,
    function_credentials,
    function_environment,
    function_variables,
    policy_values,
    render_policy,
    run_function,
    sqs_batch,
    unique,
)

ROOT = Path(__file__).resolve().parents[2]


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


def log_lines(result: lambda_emulator.EmulatorResult) -> list[dict]:
    """The function's JSON log lines; a line that is not JSON fails the test."""
    return [json.loads(line) for line in result.stdout_lines + result.stderr_lines if line.strip()]


# --- time and the registry table, as the tests read them ---------------------------------------

ISO_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


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


def create_store_user(state, store_id: str, prefix: str = "user") -> dict:
    """A user as the console makes one: name, display name, email; returns its real id and names."""
    user_name = unique(prefix)
    display_name = f"{prefix.title()} {user_name[-10:]}"
    user_id = rig.client(state, "identitystore").create_user(
        IdentityStoreId=store_id, UserName=user_name, DisplayName=display_name,
        Name={"GivenName": prefix.title(), "FamilyName": user_name[-10:]},
        Emails=[{"Value": f"{user_name}@example.com", "Type": "work", "Primary": True}],
    )["UserId"]
    return {"userId": user_id, "userName": user_name, "displayName": display_name}


def environment_for(state, sso, rig_path, product: str, table: str, **variables) -> dict:
    """What the writer or the cleaner gets: its own credentials for `table`, and the store."""
    credentials = function_credentials(rig_path, product, policy_values(state, sso, registry_table=table))
    return function_environment(state, credentials, **function_variables(product, sso["identityStoreId"], registry_table=table),
                                **variables)


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
