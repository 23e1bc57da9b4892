"""infra/ run by Terraform itself: `fmt -check`, `validate`, then a real apply onto the local rig
(moto with signatures and IAM enforced), a second plan that must show no change, what was
deployed read back through the AWS APIs, every rule's pattern matched against CloudTrail records,
and a destroy with the step infra/README.md documents for the registry's deletion protection.

Needs `terraform` (1.5 or later) on PATH and a filesystem mirror of the hashicorp/aws provider
(the folder that holds `registry.terraform.io`; TF_PLUGIN_MIRROR names it, else the usual places
are searched). Without either the stage fails, saying how to get them: it is never skipped.

The apply uses the shipped zips when FUNCTION_ZIP_DIR names them (scripts/test does, after
scripts/package), else small stand-ins made here.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

import rig
from rig import cloudtrail_events as ct
from rig.deploy import LAYER, PRODUCTS, eventbridge, render_policy

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"

PLUGIN_MIRRORS = [
    Path("/opt/tf-plugins"),
    Path.home() / ".terraform.d" / "plugins",
    Path.home() / ".local" / "share" / "terraform" / "plugins",
    Path("/usr/local/share/terraform/plugins"),
    Path("/usr/share/terraform/plugins"),
]
# Every service infra/ deploys to, by the provider's endpoint names.
PROVIDER_SERVICES = ["cloudwatch", "dynamodb", "events", "iam", "kms", "lambda", "logs", "s3", "sfn", "sns", "sqs", "ssm", "sts"]
PREFIX = "tfrig"
# Not the defaults, so that a setting Terraform dropped or mixed up shows.
SETTINGS = {
    "name_prefix": PREFIX,
    "password_max_age_days": 60,
    "inactivity_max_days": 45,
    "warning_days": 7,
    "excluded_users": ["breakglass-admin", "breakglass-two"],
    "report_prefix": "audit/credential_reports/",
    "report_lookback_days": 30,
    "report_concurrency": 4,
    "report_requests_per_second": 10,
    "reconcile_max_remove_percent": 5,
    "log_level": "DEBUG",
    "monitor_schedule_expression": "cron(30 7 * * ? *)",
    "memory_mb": {"credential_report": 512},
    "timeout_seconds": {"inactivity_monitor": 700},
    "alarm_email_addresses": ["secops@example.com"],
    "securityhub_findings": True,
    "create_alert_topic": True,
    "alert_email_addresses": ["compliance-oncall@example.com"],
}
PLAN_TIMEOUT_SECONDS = 300
APPLY_TIMEOUT_SECONDS = 600


# --- Terraform, offline -----------------------------------------------------------------------


def terraform_binary() -> str:
    found = shutil.which("terraform")
    if not found:
        pytest.fail("terraform is not on PATH. Install Terraform 1.5 or later (HashiCorp's release zip or its "
                    "Debian repository) and run the tests again.", pytrace=False)
    return found


def plugin_mirror() -> Path:
    """The folder that holds registry.terraform.io/hashicorp/aws."""
    candidates = ([Path(os.environ["TF_PLUGIN_MIRROR"])] if os.environ.get("TF_PLUGIN_MIRROR") else []) + PLUGIN_MIRRORS
    for folder in candidates:
        if (folder / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return folder
    pytest.fail("no filesystem mirror of the hashicorp/aws provider in " + ", ".join(map(str, candidates)) +
                ". Make one on a machine with network access (`terraform providers mirror DIR` in infra/) and "
                "set TF_PLUGIN_MIRROR=DIR.", pytrace=False)


class Terraform:
    """The terraform CLI in a working copy of infra/, with a CLI configuration of its own (the
    environment may name one that does not exist) and no AWS settings but the rig's."""

    def __init__(self, directory: Path, aws: dict[str, str]) -> None:
        self.directory = directory
        cli_config = directory.parent / "terraform.rc"
        cli_config.write_text("disable_checkpoint = true\n")
        inherited = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "TF_"))}
        self.environment = {**inherited, **aws, "TF_CLI_CONFIG_FILE": str(cli_config), "TF_IN_AUTOMATION": "1",
                            "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1", "AWS_EC2_METADATA_DISABLED": "true"}
        self.binary = terraform_binary()

    def run(self, *arguments: str, timeout: int = PLAN_TIMEOUT_SECONDS) -> subprocess.CompletedProcess:
        return subprocess.run([self.binary, *arguments], cwd=self.directory, env=self.environment,
                              capture_output=True, text=True, timeout=timeout)

    def ok(self, *arguments: str, timeout: int = PLAN_TIMEOUT_SECONDS) -> str:
        done = self.run(*arguments, "-no-color", timeout=timeout)
        assert done.returncode == 0, f"terraform {arguments[0]} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        return done.stdout


def rig_override(endpoint: str) -> str:
    """A provider block merged over providers.tf (a `*_override.tf` file): every service to the
    rig, nothing asked of AWS's account or metadata services."""
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in PROVIDER_SERVICES)
    return f'''provider "aws" {{
  region                      = "{rig.REGION}"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
'''


def stand_in_zips(folder: Path) -> Path:
    """Each product's zip and the layer's, holding a bootstrap that only says what it is."""
    folder.mkdir()
    for name in (*PRODUCTS, LAYER):
        with zipfile.ZipFile(folder / f"{name}.zip", "w") as archive:
            archive.writestr("bootstrap", f"#!/bin/sh\necho {name} stand-in\n")
    return folder


def zip_sha256(path: Path) -> str:
    """Lambda's CodeSha256: the base64 SHA-256 of the zip."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


# --- the stage --------------------------------------------------------------------------------


def test_terraform_fmt_finds_nothing_to_change():
    done = subprocess.run([terraform_binary(), "fmt", "-check", "-recursive", "-diff", "-no-color", str(INFRA)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"terraform fmt would change:\n{done.stdout}{done.stderr}"


@pytest.fixture(scope="module")
def rig_state(tmp_path_factory):
    """A rig of the module's own: the apply creates the deployment's fixed names."""
    path = tmp_path_factory.mktemp("terraform-rig") / "state.json"
    rig.start(path)
    try:
        state = rig.read_state(path)
        state["sso"] = rig.call(path, "identity_store")
        yield state
    finally:
        rig.stop(path)


@pytest.fixture(scope="module")
def terraform(rig_state, tmp_path_factory) -> Terraform:
    """infra/ copied, initialised offline from the mirror, and validated before the override."""
    work = tmp_path_factory.mktemp("terraform")
    directory = work / "infra"
    shutil.copytree(INFRA, directory, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*_override.tf"))
    tf = Terraform(directory, {
        "AWS_ACCESS_KEY_ID": rig_state["admin"]["accessKeyId"],
        "AWS_SECRET_ACCESS_KEY": rig_state["admin"]["secretAccessKey"],
    })
    tf.ok("init", "-backend=false", f"-plugin-dir={plugin_mirror()}")
    validation = json.loads(tf.run("validate", "-json").stdout)
    assert validation["valid"], json.dumps(validation["diagnostics"], indent=2)
    (directory / "rig_override.tf").write_text(rig_override(rig_state["moto"]["url"]))
    zip_dir = Path(os.environ["FUNCTION_ZIP_DIR"]) if os.environ.get("FUNCTION_ZIP_DIR") else stand_in_zips(work / "zips")
    variables = {**SETTINGS, "identity_store_id": rig_state["sso"]["identityStoreId"],
                 "sso_instance_arn": rig_state["sso"]["instanceArn"], "artifacts_dir": str(zip_dir.resolve())}
    (directory / "rig.auto.tfvars.json").write_text(json.dumps(variables, indent=2))
    tf.zip_dir = zip_dir
    return tf


@pytest.fixture(scope="module")
def deployed(terraform, rig_state):
    """The apply; whatever a test leaves deployed is destroyed at the end, the table's
    deletion protection turned off first."""
    terraform.ok("apply", "-auto-approve", "-parallelism=20", timeout=APPLY_TIMEOUT_SECONDS)
    yield rig_state
    if managed_resources(terraform):
        turn_off_deletion_protection(rig_state)
        terraform.run("destroy", "-auto-approve", "-parallelism=20", timeout=APPLY_TIMEOUT_SECONDS)


def aws(state: dict, service: str):
    return rig.client(state, service)


def managed_resources(terraform: Terraform) -> list[str]:
    """What the state still holds, data sources left out."""
    return sorted(line for line in terraform.run("state", "list").stdout.split() if not line.startswith("data."))


def turn_off_deletion_protection(state: dict) -> None:
    """infra/README.md's step before a destroy (there: `aws dynamodb update-table --table-name … --no-deletion-protection-enabled`)."""
    for table in (f"{PREFIX}-registry", f"{PREFIX}-activity"):
        aws(state, "dynamodb").update_table(TableName=table, DeletionProtectionEnabled=False)


def test_without_terraform_the_stage_fails_saying_how_to_install_it(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(pytest.fail.Exception, match="Install Terraform"):
        terraform_binary()


def test_without_a_provider_mirror_the_stage_fails_saying_how_to_make_one(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "PLUGIN_MIRRORS", [tmp_path])
    monkeypatch.setenv("TF_PLUGIN_MIRROR", str(tmp_path / "elsewhere"))
    with pytest.raises(pytest.fail.Exception, match="terraform providers mirror"):
        plugin_mirror()


def test_terraform_validate_accepts_infra(terraform):
    # The fixture validated the copy before the rig's override was added; validate the whole of it too.
    assert json.loads(terraform.run("validate", "-json").stdout)["valid"]


def test_a_second_plan_shows_no_change(terraform, deployed):
    done = terraform.run("plan", "-detailed-exitcode", "-no-color")
    assert done.returncode == 0, f"the plan after apply is not empty (exit {done.returncode}):\n{done.stdout[-6000:]}{done.stderr[-2000:]}"


# --- what was deployed, read back -------------------------------------------------------------


def deployed_resources(state: dict) -> dict:
    """The ARNs and URLs the policies and the environment name, as AWS answers them."""
    account, region = state["accountId"], state["region"]
    sqs, kms = aws(state, "sqs"), aws(state, "kms")
    alert_queue_url = sqs.get_queue_url(QueueName=f"{PREFIX}-alerts")["QueueUrl"]
    keys = {name: kms.describe_key(KeyId=f"alias/{PREFIX}-{name}")["KeyMetadata"]["Arn"]
            for name in ("registry", "alerts", "reports", "operations")}
    topics = [t["TopicArn"] for t in aws(state, "sns").list_topics()["Topics"] if t["TopicArn"].endswith(f":{PREFIX}-alert-topic")]
    return {
        "alert_topic_arn": topics[0] if len(topics) == 1 else None,
        "alert_queue_url": alert_queue_url,
        "alert_queue_arn": sqs.get_queue_attributes(QueueUrl=alert_queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"],
        "report_bucket": f"{PREFIX}-reports-{account}-{region}",
        "registry_table": f"{PREFIX}-registry",
        "activity_table": f"{PREFIX}-activity",
        "keys": keys,
    }


def expected_environment(product: str, state: dict, resources: dict) -> dict[str, str]:
    """infra/README.md's variables table, for SETTINGS."""
    store = {"IDENTITY_STORE_ID": state["sso"]["identityStoreId"]}
    registry = {"REGISTRY_TABLE": resources["registry_table"], **store}
    monitor = {**registry, "ACTIVITY_TABLE": resources["activity_table"], "ALERT_QUEUE_URL": resources["alert_queue_url"],
               "WARNING_DAYS": "7",
               "EXCLUDED_USERS": "breakglass-admin,breakglass-two", "ACTIVITY_SOURCE": "lookup-events",
               "FINDINGS": "securityhub", "ALERT_TOPIC_ARN": resources["alert_topic_arn"]}
    return {
        "registry-writer": registry,
        "registry-cleaner": {**registry, "RECONCILE_MAX_REMOVE_PERCENT": "5"},
        "password-expiry-monitor": {**monitor, "PASSWORD_MAX_AGE_DAYS": "60"},
        "inactivity-monitor": {**monitor, "INACTIVITY_MAX_DAYS": "45"},
        "credential-report": {
            **store, "SSO_INSTANCE_ARN": state["sso"]["instanceArn"], "REPORT_BUCKET": resources["report_bucket"],
            "ACTIVITY_TABLE": resources["activity_table"],
            "REPORT_PREFIX": "audit/credential_reports/", "REPORT_LOOKBACK_DAYS": "30", "ACTIVITY_SOURCE": "lookup-events",
            "REPORT_KMS_KEY_ID": resources["keys"]["reports"], "REPORT_CONCURRENCY": "4", "REPORT_REQUESTS_PER_SECOND": "10",
        },
    }[product]


@pytest.mark.parametrize("product", PRODUCTS)
def test_each_function_runs_as_documented(product, terraform, deployed):
    resources = deployed_resources(deployed)
    lambda_ = aws(deployed, "lambda")
    name = f"{PREFIX}-{product}"
    configuration = lambda_.get_function_configuration(FunctionName=name)
    layer = lambda_.list_layer_versions(LayerName=f"{PREFIX}-runtime-libs")["LayerVersions"]
    assert len(layer) == 1 and layer[0]["CompatibleRuntimes"] == ["provided.al2023"]
    dead_letters = aws(deployed, "sqs").get_queue_url(QueueName=f"{PREFIX}-{product}-dlq")["QueueUrl"]

    assert (configuration["Runtime"], configuration["Handler"], configuration["Architectures"]) == \
        ("provided.al2023", "bootstrap", ["x86_64"])
    assert [one["Arn"] for one in configuration["Layers"]] == [layer[0]["LayerVersionArn"]]
    assert configuration["CodeSha256"] == zip_sha256(terraform.zip_dir / f"{product}.zip")
    assert configuration["Environment"]["Variables"] == expected_environment(product, deployed, resources)
    assert configuration["KMSKeyArn"] == resources["keys"]["operations"]
    assert configuration["TracingConfig"] == {"Mode": "Active"}
    assert configuration["LoggingConfig"] == {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG",
                                              "SystemLogLevel": "INFO", "LogGroup": f"/aws/lambda/{name}"}
    assert configuration["DeadLetterConfig"]["TargetArn"].endswith(f":{PREFIX}-{product}-dlq")
    assert dead_letters.endswith(f"/{PREFIX}-{product}-dlq")
    assert configuration["MemorySize"] == (512 if product == "credential-report" else 128)
    assert configuration["Timeout"] == {"inactivity-monitor": 700, "credential-report": 900,
                                        "password-expiry-monitor": 600}.get(product, 300)
    assert configuration["Role"] == f"arn:aws:iam::{deployed['accountId']}:role/{name}"


@pytest.mark.parametrize("product", PRODUCTS)
def test_each_role_holds_its_policy_rendered_with_the_real_arns(product, deployed):
    resources = deployed_resources(deployed)
    account, region = deployed["accountId"], deployed["region"]
    keys = resources["keys"]
    values = {
        "partition": "aws", "region": region, "account_id": account,
        "identity_store_arn": f"arn:aws:identitystore::{account}:identitystore/{deployed['sso']['identityStoreId']}",
        "instance_arn": deployed["sso"]["instanceArn"], "sso_instance_id": deployed["sso"]["instanceArn"].split("/")[-1],
        "registry_table_arn": f"arn:aws:dynamodb:{region}:{account}:table/{resources['registry_table']}",
        "activity_table_arn": f"arn:aws:dynamodb:{region}:{account}:table/{resources['activity_table']}",
        "alert_queue_arn": resources["alert_queue_arn"], "alert_topic_arn": resources["alert_topic_arn"],
        "report_bucket_arn": f"arn:aws:s3:::{resources['report_bucket']}",
        "report_prefix": SETTINGS["report_prefix"],
        "event_data_store_arn": f"arn:aws:cloudtrail:{region}:{account}:eventdatastore/none",
        "registry_kms_key_arn": keys["registry"], "alert_kms_key_arn": keys["alerts"], "report_kms_key_arn": keys["reports"],
    }
    expected = render_policy(product, values)
    # With lookup-events there is no event data store: infra/iam.tf leaves the Lake statement out.
    expected["Statement"] = [one for one in expected["Statement"] if one.get("Sid") != "QueryCloudTrailLake"]
    document = aws(deployed, "iam").get_role_policy(RoleName=f"{PREFIX}-{product}", PolicyName="least-privilege")["PolicyDocument"]
    assert document == expected


def test_the_alert_topic_is_encrypted_published_to_by_the_monitors_only_and_mails_its_subscribers(deployed):
    resources = deployed_resources(deployed)
    topic = resources["alert_topic_arn"]
    assert topic, f"no {PREFIX}-alert-topic"
    sns = aws(deployed, "sns")
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["KmsMasterKeyId"] == resources["keys"]["alerts"]
    statements = {one["Sid"]: one for one in json.loads(attributes["Policy"])["Statement"]}
    account = deployed["accountId"]
    monitors = sorted(f"arn:aws:iam::{account}:role/{PREFIX}-{m}" for m in ("password-expiry-monitor", "inactivity-monitor"))
    assert sorted(statements["MonitorsPublishAlerts"]["Principal"]["AWS"]) == monitors
    assert statements["MonitorsPublishAlerts"]["Action"] == "sns:Publish"
    assert statements["NobodyElsePublishesAlerts"]["Effect"] == "Deny"
    assert sorted(statements["NobodyElsePublishesAlerts"]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]) == monitors
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(one["Protocol"], one["Endpoint"]) for one in subscriptions] == [("email", "compliance-oncall@example.com")]


def rule(state: dict, name: str) -> tuple[dict, list[dict]]:
    """A rule as deployed, and its targets."""
    events = aws(state, "events")
    return events.describe_rule(Name=f"{PREFIX}-{name}"), events.list_targets_by_rule(Rule=f"{PREFIX}-{name}")["Targets"]


@pytest.mark.parametrize("name, schedule, targets", [
    ("reconcile", "cron(0 5 * * ? *)", {"registry-writer": {"reconcile": True}, "registry-cleaner": {"reconcile": True}}),
    ("monitors", "cron(30 7 * * ? *)", {"password-expiry-monitor": None, "inactivity-monitor": None}),
    ("catch-up", "rate(15 minutes)", {"password-expiry-monitor": {"catchUp": True}, "inactivity-monitor": {"catchUp": True}}),
])
def test_each_schedule_invokes_its_functions(name, schedule, targets, deployed):
    described, deployed_targets = rule(deployed, name)
    assert described["ScheduleExpression"] == schedule and described["State"] == "ENABLED"
    function_arn = f"arn:aws:lambda:{deployed['region']}:{deployed['accountId']}:function:{PREFIX}-"
    found = {target["Arn"].removeprefix(function_arn): json.loads(target["Input"]) if "Input" in target else None
             for target in deployed_targets}
    assert found == targets
    for target in deployed_targets:
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
        assert target["DeadLetterConfig"]["Arn"].endswith(target["Arn"].rsplit(":", 1)[-1] + "-dlq")


def test_the_weekly_report_schedule_starts_the_state_machine(deployed):
    described, (target,) = rule(deployed, "report")
    assert described["ScheduleExpression"] == "cron(0 20 ? * SUN *)" and described["State"] == "ENABLED"
    region, account = deployed["region"], deployed["accountId"]
    machine = f"arn:aws:states:{region}:{account}:stateMachine:{PREFIX}-credential-report"
    assert target["Arn"] == machine
    assert target["RoleArn"] == f"arn:aws:iam::{account}:role/{PREFIX}-report-schedule"
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"]["Arn"].endswith(f"{PREFIX}-credential-report-dlq")
    policy = aws(deployed, "iam").get_role_policy(RoleName=f"{PREFIX}-report-schedule", PolicyName="start-credential-report")
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == ("states:StartExecution", machine)


def test_the_state_machine_loops_over_the_report_and_its_role_invokes_the_report_only(deployed):
    region, account = deployed["region"], deployed["accountId"]
    described = aws(deployed, "stepfunctions").describe_state_machine(
        stateMachineArn=f"arn:aws:states:{region}:{account}:stateMachine:{PREFIX}-credential-report")
    assert described["roleArn"] == f"arn:aws:iam::{account}:role/{PREFIX}-report-state-machine"
    definition = json.loads(described["definition"])
    report = f"arn:aws:lambda:{region}:{account}:function:{PREFIX}-credential-report"
    assert definition["States"]["InvokeReport"]["Parameters"]["FunctionName"] == report
    assert definition["States"]["IsComplete"]["Choices"][1]["NumericGreaterThanEquals"] == 96
    policy = aws(deployed, "iam").get_role_policy(RoleName=f"{PREFIX}-report-state-machine", PolicyName="invoke-credential-report")
    invoking = [one for one in policy["PolicyDocument"]["Statement"] if "lambda" in json.dumps(one["Action"])]
    assert [(one["Action"], one["Resource"]) for one in invoking] == [("lambda:InvokeFunction", report)]


# --- the rules' patterns against CloudTrail records, as EventBridge matches them ---------------


def matches(state: dict, rule_name: str, record: dict) -> bool:
    """moto's own EventBridge matcher, in-process (its TestEventPattern endpoint is a stub)."""
    from moto.events.models import EventPattern

    return EventPattern.load(rule(state, rule_name)[0]["EventPattern"]).matches_event(eventbridge(record))


WHEN = "2026-11-20T10:00:00Z"
LIFECYCLE = {"user-created": ("CreateUser", "registry-writer"), "user-deleted": ("DeleteUser", "registry-cleaner")}


def lifecycle_record(event_name: str, source: str) -> dict:
    builder = ct.create_user if event_name == "CreateUser" else ct.delete_user
    args = ("a1b2c3d4-0000-4000-8000-000000000001",) + (("alice",) if event_name == "CreateUser" else ())
    return builder(source, *args, WHEN)


@pytest.mark.parametrize("rule_name", sorted(LIFECYCLE))
@pytest.mark.parametrize("source", sorted(ct.SOURCES))
def test_lifecycle_rules_match_each_identity_store_source(rule_name, source, deployed):
    event_name, function = LIFECYCLE[rule_name]
    other_name = "DeleteUser" if event_name == "CreateUser" else "CreateUser"
    assert matches(deployed, rule_name, lifecycle_record(event_name, source))
    assert not matches(deployed, rule_name, lifecycle_record(other_name, source))
    targets = rule(deployed, rule_name)[1]
    assert [target["Arn"].rsplit(":", 1)[-1] for target in targets] == [f"{PREFIX}-{function}"]
    assert all("Input" not in target for target in targets), "the record itself must reach the function"


@pytest.mark.parametrize("rule_name", sorted(LIFECYCLE))
def test_lifecycle_rules_ignore_iam_users(rule_name, deployed):
    for event_name in ("CreateUser", "DeleteUser"):
        assert not matches(deployed, rule_name, ct.iam_user_event(event_name, "deploy-bot", WHEN))


USER = "a1b2c3d4-0000-4000-8000-000000000002"
EVIDENCE = {
    "password-changes": [ct.password_change(USER, WHEN), ct.password_change(USER, WHEN, by_admin=True)],
    "sign-ins": [ct.sign_in(USER, None, WHEN), ct.sign_in(USER, None, WHEN, kind="CredentialVerification"),
                 ct.sign_in(USER, "alice", WHEN, kind="Authenticate", old_format=True)],
    "role-sign-ins": [ct.role_sign_in(USER, None, WHEN, "111122223333", "ReadOnly", kind=kind)
                      for kind in ("Federate", "GetRoleCredentials")],
}
NOT_EVIDENCE = [
    ct.sign_in(USER, None, WHEN, kind="CredentialVerification", success=False),
    ct.sign_in(USER, None, WHEN, kind="Authenticate", success=False),
    ct.record(WHEN, "sso-directory.amazonaws.com", "UpdatePassword", ct.admin_identity(),
              request={"userId": USER}, error="ValidationException"),
    ct.iam_user_event("CreateUser", "deploy-bot", WHEN),
    ct.create_user("identitystore", USER, "alice", WHEN),
]


@pytest.mark.parametrize("rule_name", sorted(EVIDENCE))
def test_evidence_rules_take_their_events_and_nothing_else(rule_name, deployed):
    for record in EVIDENCE[rule_name]:
        assert matches(deployed, rule_name, record), (rule_name, record["eventName"])
    for other in sorted(EVIDENCE):
        if other != rule_name:
            for record in EVIDENCE[other]:
                assert not matches(deployed, rule_name, record), (rule_name, record["eventName"])
    for record in NOT_EVIDENCE:
        assert not matches(deployed, rule_name, record), (rule_name, record["eventName"], record.get("errorCode"))


def test_evidence_reaches_each_monitor_through_its_queue(deployed):
    described, targets = rule(deployed, "role-sign-ins")
    assert described["State"] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", "read-only events reach only such a rule"
    sqs, lambda_ = aws(deployed, "sqs"), aws(deployed, "lambda")
    expected = {"password-changes": "password-expiry-monitor", "sign-ins": "inactivity-monitor", "role-sign-ins": "inactivity-monitor"}
    for rule_name, monitor in expected.items():
        [target] = rule(deployed, rule_name)[1]
        assert target["Arn"].endswith(f":{PREFIX}-{monitor}-evidence") and "Input" not in target
    for monitor in ("password-expiry-monitor", "inactivity-monitor"):
        url = sqs.get_queue_url(QueueName=f"{PREFIX}-{monitor}-evidence")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith(f":{PREFIX}-{monitor}-evidence-dlq")
        assert int(attributes["VisibilityTimeout"]) == 6 * (700 if monitor == "inactivity-monitor" else 600)
        [mapping] = [one for one in lambda_.list_event_source_mappings()["EventSourceMappings"]
                     if one["FunctionArn"].endswith(f":function:{PREFIX}-{monitor}")]
        assert mapping["EventSourceArn"] == attributes["QueueArn"]
        assert (mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"]) == (100, 30)
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_schedules_match_no_cloudtrail_record(deployed):
    for name in ("reconcile", "monitors", "catch-up", "report"):
        assert "EventPattern" not in rule(deployed, name)[0]


# --- the runbook ------------------------------------------------------------------------------


def test_the_runbook_takes_lookback_days_and_starts_the_report_state_machine(deployed):
    ssm = aws(deployed, "ssm")
    document = yaml.safe_load(ssm.get_document(Name=f"{PREFIX}-RunCredentialReport")["Content"])
    lookback = document["parameters"]["lookbackDays"]
    assert lookback["default"] == "30"
    assert lookback["allowedPattern"] == "^([1-9]|[1-8][0-9]|90)$"
    step = document["mainSteps"][0]
    assert step["action"] == "aws:executeStateMachine"
    assert step["inputs"]["stateMachineArn"] == \
        f"arn:aws:states:{deployed['region']}:{deployed['accountId']}:stateMachine:{PREFIX}-credential-report"
    role = document["parameters"]["AutomationAssumeRole"]["default"]
    assert role == f"arn:aws:iam::{deployed['accountId']}:role/{PREFIX}-report-automation"


# --- destroy ----------------------------------------------------------------------------------


def test_destroy_keeps_the_registry_and_the_ledger_until_the_documented_step(terraform, deployed):
    first = terraform.run("destroy", "-auto-approve", "-parallelism=20", "-no-color", timeout=APPLY_TIMEOUT_SECONDS)
    assert first.returncode != 0 and "DeletionProtectionEnabled" in first.stdout + first.stderr
    # Everything else is gone; the registry's key stays while the tables it encrypts do.
    assert managed_resources(terraform) == ["aws_dynamodb_table.activity", "aws_dynamodb_table.registry", "aws_kms_key.registry"]

    turn_off_deletion_protection(deployed)
    terraform.ok("destroy", "-auto-approve", timeout=APPLY_TIMEOUT_SECONDS)
    assert managed_resources(terraform) == []
    assert aws(deployed, "dynamodb").list_tables()["TableNames"] == []
    assert aws(deployed, "lambda").list_functions()["Functions"] == []
