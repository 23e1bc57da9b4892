"""Deploying a function the way infra/ does, onto the local rig: its IAM policy rendered from
infra/policies/<product>.json as Terraform's templatefile() renders it, an IAM user holding only
that policy, the environment Lambda would give it, and a run of its built bootstrap under the
Lambda Runtime API emulator. Shared by the end-to-end tests, scripts/demo and scripts/bench.
"""
from __future__ import annotations

import atexit
import dataclasses
import functools
import json
import os
import re
import shutil
import tempfile
import uuid
import zipfile
from pathlib import Path

from rig import lambda_emulator
import rig

ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("FUNCTION_BIN_DIR", ROOT / ".build" / "debug"))
ZIP_DIR = Path(os.environ["FUNCTION_ZIP_DIR"]).resolve() if os.environ.get("FUNCTION_ZIP_DIR") else None
POLICY_DIR = ROOT / "infra" / "policies"
PLACEHOLDER = re.compile(r"\$\{([a-z_]+)\}")
LAYER = "runtime-libs-layer"
PRODUCTS = ("registry-writer", "registry-cleaner", "password-expiry-monitor", "inactivity-monitor", "credential-report")


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
    (registry_table, activity_table, alert_queue_arn, alert_topic_arn, report_bucket, report_prefix, event_data_store)."""
    account, region = state["accountId"], state["region"]
    key = f"arn:aws:kms:{region}:{account}:key/00000000-0000-0000-0000-000000000000"
    return {
        "partition": "aws",
        "region": region,
        "account_id": account,
        "identity_store_arn": f"arn:aws:identitystore::{account}:identitystore/{sso['identityStoreId']}",
        "instance_arn": sso["instanceArn"],
        "sso_instance_id": sso["instanceArn"].split("/")[-1],
        "registry_table_arn": f"arn:aws:dynamodb:{region}:{account}:table/{resources.get('registry_table', 'none')}",
        "activity_table_arn": f"arn:aws:dynamodb:{region}:{account}:table/{resources.get('activity_table', 'none')}",
        "alert_queue_arn": resources.get("alert_queue_arn", f"arn:aws:sqs:{region}:{account}:none"),
        "alert_topic_arn": resources.get("alert_topic_arn", f"arn:aws:sns:{region}:{account}:none"),
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


# The variables infra/lambda.tf gives each function, by the resource each names (the keyword
# arguments of function_variables).
MONITOR_VARIABLES = {"REGISTRY_TABLE": "registry_table", "ACTIVITY_TABLE": "activity_table",
                     "ALERT_QUEUE_URL": "alert_queue_url", "ALERT_TOPIC_ARN": "alert_topic_arn", "FINDINGS": "findings"}
FUNCTION_VARIABLES = {
    "registry-writer": {"REGISTRY_TABLE": "registry_table"},
    "registry-cleaner": {"REGISTRY_TABLE": "registry_table"},
    "password-expiry-monitor": MONITOR_VARIABLES,
    "inactivity-monitor": MONITOR_VARIABLES,
    "credential-report": {"SSO_INSTANCE_ARN": "instance_arn", "REPORT_BUCKET": "report_bucket",
                          "ACTIVITY_TABLE": "activity_table", "REPORT_PREFIX": "report_prefix"},
}


def function_variables(product: str, identity_store_id: str, **resources: str | None) -> dict[str, str]:
    """What infra/ sets for `product` from the resources given (registry_table, activity_table,
    alert_queue_url, alert_topic_arn, findings, instance_arn, report_bucket, report_prefix): the
    one place the rig's users (tests, demo, bench) build a function's variables. A resource not
    given leaves its variable unset."""
    unknown = set(resources) - set().union(*(names.values() for names in FUNCTION_VARIABLES.values()))
    if unknown:
        raise TypeError(f"no function variable names {sorted(unknown)}")
    named = FUNCTION_VARIABLES[product]
    return {"IDENTITY_STORE_ID": identity_store_id,
            **{variable: resources[key] for variable, key in named.items() if resources.get(key)}}


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


@dataclasses.dataclass(frozen=True)
class Packages:
    """The shipped zips (scripts/package) unpacked as Lambda unpacks them: each function's into a
    task root of its own, the runtime-libs layer into an /opt of its own."""
    bootstraps: dict[str, Path]
    layer: Path

    @classmethod
    def unpack(cls, zip_dir: Path, into: Path) -> "Packages":
        missing = [name for name in (*PRODUCTS, LAYER) if not (zip_dir / f"{name}.zip").is_file()]
        if missing:
            raise FileNotFoundError(f"{zip_dir} lacks {', '.join(missing)}.zip: run scripts/package")
        bootstraps = {}
        for product in PRODUCTS:
            with zipfile.ZipFile(zip_dir / f"{product}.zip") as archive:
                archive.extractall(into / "task" / product)
            bootstraps[product] = into / "task" / product / "bootstrap"
            bootstraps[product].chmod(0o755)  # zipfile does not restore modes
        with zipfile.ZipFile(zip_dir / f"{LAYER}.zip") as archive:
            archive.extractall(into / "opt")
        return cls(bootstraps, into / "opt")

    def run(self, product: str, events: list, environment: dict, **options) -> lambda_emulator.EmulatorResult:
        return lambda_emulator.run_function(str(self.bootstraps[product]), events, env=environment,
                                            layer=str(self.layer), **{"function_name": product, **options})


@functools.cache
def shipped_packages(zip_dir: Path) -> Packages:
    """`zip_dir`'s packages, unpacked once for the process and removed when it ends."""
    directory = Path(tempfile.mkdtemp(prefix="lambda-packages-"))
    atexit.register(shutil.rmtree, directory, True)
    return Packages.unpack(zip_dir, directory)


def run_function(product: str, events: list, environment: dict, bin_dir: Path | None = None,
                 **options) -> lambda_emulator.EmulatorResult:
    """The product under the Runtime API emulator: the shipped zip with its layer when
    FUNCTION_ZIP_DIR names them (and no `bin_dir` is given), else the built bootstrap in `bin_dir`,
    FUNCTION_BIN_DIR or .build/debug."""
    if bin_dir is None and ZIP_DIR is not None:
        return shipped_packages(ZIP_DIR).run(product, events, environment, **options)
    bootstrap = (bin_dir or BIN_DIR) / product
    if not bootstrap.exists():
        raise FileNotFoundError(f"{bootstrap} is not built: run `swift build` (scripts/test does)")
    return lambda_emulator.run_function(str(bootstrap), events, env=environment, **{"function_name": product, **options})


def eventbridge(record: dict) -> dict:
    """A CloudTrail record as EventBridge delivers it: an API call as "AWS API Call via
    CloudTrail", a service event (a sign-in) as "AWS Service Event via CloudTrail"."""
    service_event = record.get("eventType") == "AwsServiceEvent"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS Service Event via CloudTrail" if service_event else "AWS API Call via CloudTrail",
        "source": "aws." + record["eventSource"].split(".")[0],
        "account": record.get("recipientAccountId", "123456789012"),
        "time": record["eventTime"],
        "region": record.get("awsRegion", "us-east-1"),
        "resources": [],
        "detail": record,
    }


def sqs_batch(bodies: list[str], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:evidence") -> dict:
    """Message bodies as Lambda delivers them from an SQS queue: one batch."""
    return {"Records": [{"messageId": f"m-{number}", "receiptHandle": f"r-{number}", "body": body, "attributes": {},
                         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                         "eventSourceARN": queue_arn, "awsRegion": queue_arn.split(":")[3]}
                        for number, body in enumerate(bodies)]}


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
