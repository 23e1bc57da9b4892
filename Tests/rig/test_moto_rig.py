"""Tests for the rig's moto part: the rig package (scripts/rig: __init__.py, moto_launcher.py, moto_corrections.py, rig_knobs.py, moto_seeding.py and fixtures.py).

One rig serves the module, auth on: everything is signed, as the Swift functions will sign, and
judged by IAM policies. Error answers are asserted as moto sends them on the wire, since the
project's own client, not boto3, will read them.
"""
from __future__ import annotations

import io
import json
import re
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

import rig

REPO = Path(__file__).resolve().parents[2]



@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """(state path, state) of the module's rig."""
    path = tmp_path_factory.mktemp("rig") / "state.json"
    state = rig.start(path)
    yield path, state
    rig.stop(path)


def credentials(user: dict) -> dict:
    return {"aws_access_key_id": user["accessKeyId"], "aws_secret_access_key": user["secretAccessKey"]}


def wire_error(raised: pytest.ExceptionInfo) -> tuple[int, str]:
    """(HTTP status, error code) as sent. moto answers its auth errors in XML, even to JSON
    services, which botocore then reports under the code "403" with the XML as the message."""
    response = raised.value.response
    code = response["Error"]["Code"]
    message = response["Error"].get("Message", "")
    if "<Code>" in message:
        code = message.split("<Code>")[1].split("</Code>")[0]
    return response["ResponseMetadata"]["HTTPStatusCode"], code


def allow(action: str | list[str], resource: str | list[str]) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}


def user_key(user_id: str) -> dict:
    return {"UserId": {"S": user_id}}


# --- start, auth ------------------------------------------------------------------------------


def test_state_names_both_servers_and_the_admin(running):
    path, state = running
    assert rig.read_state(path) == state
    assert state["region"] == "us-east-1"
    assert state["moto"]["url"].startswith("http://127.0.0.1:")
    assert set(state["admin"]) == {"accessKeyId", "secretAccessKey"}
    if state["cloudtrail"] is not None:
        assert state["cloudtrail"]["url"].startswith("http://127.0.0.1:")


def test_admin_is_allowed_everything(running):
    _, state = running
    identity = rig.client(state, "sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{state['accountId']}:user/rig-admin"
    assert "rig-admin" in [u["UserName"] for u in rig.client(state, "iam").list_users()["Users"]]
    rig.client(state, "s3").create_bucket(Bucket="admin-bucket")
    assert "admin-bucket" in [b["Name"] for b in rig.client(state, "s3").list_buckets()["Buckets"]]


def test_a_wrong_secret_is_a_signature_error(running):
    _, state = running
    forged = {"aws_access_key_id": state["admin"]["accessKeyId"], "aws_secret_access_key": "wrong"}
    for service, request in (
        ("dynamodb", lambda c: c.list_tables()),
        ("sso-admin", lambda c: c.list_instances()),
        ("s3", lambda c: c.list_buckets()),
    ):
        with pytest.raises(ClientError) as raised:
            request(rig.client(state, service, forged))
        assert wire_error(raised) == (403, "SignatureDoesNotMatch"), service


def test_an_unknown_access_key_is_refused(running):
    _, state = running
    stranger = {"aws_access_key_id": "AKIAUNKNOWNKEY000000", "aws_secret_access_key": "x"}
    with pytest.raises(ClientError) as raised:
        rig.client(state, "dynamodb", stranger).list_tables()
    assert wire_error(raised) == (403, "InvalidClientTokenId")
    with pytest.raises(ClientError) as raised:
        rig.client(state, "s3", stranger).list_buckets()
    assert wire_error(raised) == (403, "InvalidAccessKeyId")


def test_a_second_start_on_a_running_state_is_refused(running):
    path, _ = running
    with pytest.raises(RuntimeError, match="running"):
        rig.start(path)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "localhost", "example.com"])
def test_a_non_loopback_host_is_refused(tmp_path, host):
    with pytest.raises(ValueError, match="loopback"):
        rig.start(tmp_path / "state.json", host=host)
    assert list(tmp_path.iterdir()) == []


def test_the_launcher_refuses_to_run_with_auth_off():
    env = {k: v for k, v in os.environ.items() if k != "INITIAL_NO_AUTH_ACTION_COUNT"}
    done = subprocess.run([sys.executable, "-m", "rig.moto_launcher"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "INITIAL_NO_AUTH_ACTION_COUNT" in done.stderr


# --- IAM policies judged on real resources ----------------------------------------------------


def test_a_policy_scoped_to_one_table_allows_that_table_only(running):
    path, state = running
    allowed = rig.call(path, "create_table", name="scoped-allowed")
    rig.call(path, "create_table", name="scoped-other")
    admin = rig.client(state, "dynamodb")
    for table in ("scoped-allowed", "scoped-other"):
        admin.put_item(TableName=table, Item={**user_key("u1"), "UserName": {"S": "ann"}})
    reader = rig.call(path, "create_function_user", name="scoped-reader",
                      policy=allow("dynamodb:GetItem", allowed["tableArn"]))
    dynamodb = rig.client(state, "dynamodb", credentials(reader))

    assert dynamodb.get_item(TableName="scoped-allowed", Key=user_key("u1"))["Item"]["UserName"] == {"S": "ann"}
    assert dynamodb.get_item(TableName=allowed["tableArn"], Key=user_key("u1"))["Item"]
    for denied in (
        lambda: dynamodb.get_item(TableName="scoped-other", Key=user_key("u1")),
        lambda: dynamodb.put_item(TableName="scoped-allowed", Item=user_key("u2")),
    ):
        with pytest.raises(ClientError) as raised:
            denied()
        assert wire_error(raised) == (403, "AccessDenied")
        assert reader["arn"] in raised.value.response["Error"]["Message"]


def test_a_batch_needs_every_table_it_names(running):
    path, state = running
    mine = rig.call(path, "create_table", name="batch-mine")
    rig.call(path, "create_table", name="batch-theirs")
    writer = rig.call(path, "create_function_user", name="batch-writer",
                      policy=allow("dynamodb:BatchWriteItem", mine["tableArn"]))
    dynamodb = rig.client(state, "dynamodb", credentials(writer))
    put = {"PutRequest": {"Item": user_key("u1")}}

    dynamodb.batch_write_item(RequestItems={"batch-mine": [put]})
    with pytest.raises(ClientError) as raised:
        dynamodb.batch_write_item(RequestItems={"batch-mine": [put], "batch-theirs": [put]})
    assert wire_error(raised) == (403, "AccessDenied")


def test_a_query_on_an_index_is_judged_on_the_index_arn(running):
    path, state = running
    table = rig.client(state, "dynamodb").create_table(
        TableName="indexed", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "UserId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "UserId", "AttributeType": "S"},
                              {"AttributeName": "UserName", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-name", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "UserName", "KeyType": "HASH"}]}],
    )["TableDescription"]
    table_only = rig.call(path, "create_function_user", name="table-querier",
                          policy=allow("dynamodb:Query", table["TableArn"]))
    index_too = rig.call(path, "create_function_user", name="index-querier",
                         policy=allow("dynamodb:Query", f"{table['TableArn']}/index/*"))
    query = {"TableName": "indexed", "IndexName": "by-name", "KeyConditionExpression": "UserName = :n",
             "ExpressionAttributeValues": {":n": {"S": "ann"}}}

    assert rig.client(state, "dynamodb", credentials(index_too)).query(**query)["Items"] == []
    with pytest.raises(ClientError) as raised:
        rig.client(state, "dynamodb", credentials(table_only)).query(**query)
    assert wire_error(raised) == (403, "AccessDenied")


def test_services_without_a_resource_are_judged_on_the_action(running):
    path, state = running
    store = rig.call(path, "identity_store")
    store_arn = f"arn:aws:identitystore::{state['accountId']}:identitystore/{store['identityStoreId']}"
    lister = rig.call(path, "create_function_user", name="store-lister",
                      policy=allow("identitystore:ListUsers", [store_arn, "arn:aws:identitystore:::user/*"]))
    identitystore = rig.client(state, "identitystore", credentials(lister))

    identitystore.list_users(IdentityStoreId=store["identityStoreId"])
    with pytest.raises(ClientError) as raised:
        identitystore.list_groups(IdentityStoreId=store["identityStoreId"])
    assert wire_error(raised) == (403, "AccessDenied")


def test_s3_denies_what_the_policy_does_not_name(running):
    path, state = running
    rig.client(state, "s3").create_bucket(Bucket="reports")
    writer = rig.call(path, "create_function_user", name="report-writer",
                      policy=allow("s3:PutObject", "arn:aws:s3:::reports/credential_reports/*"))
    s3 = rig.client(state, "s3", credentials(writer))

    s3.put_object(Bucket="reports", Key="credential_reports/r.csv", Body=b"a,b\r\n")
    for denied in (
        lambda: s3.put_object(Bucket="reports", Key="elsewhere/r.csv", Body=b""),
        lambda: s3.get_object(Bucket="reports", Key="credential_reports/r.csv"),
    ):
        with pytest.raises(ClientError) as raised:
            denied()
        assert wire_error(raised) == (403, "AccessDenied")


# --- sso-admin as AWS answers it --------------------------------------------------------------


def permission_set(state: dict, instance_arn: str, name: str) -> str:
    sso = rig.client(state, "sso-admin")
    return sso.create_permission_set(InstanceArn=instance_arn, Name=name)["PermissionSet"]["PermissionSetArn"]


def assign(state: dict, instance_arn: str, ps_arn: str, account: str, principal: str) -> None:
    rig.client(state, "sso-admin").create_account_assignment(
        InstanceArn=instance_arn, TargetId=account, TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps_arn, PrincipalType="USER", PrincipalId=principal)


def provisioned_to(state: dict, instance_arn: str, account: str) -> set[str]:
    sso = rig.client(state, "sso-admin")
    return set(sso.list_permission_sets_provisioned_to_account(InstanceArn=instance_arn, AccountId=account)["PermissionSets"])


def test_accounts_for_a_permission_set_are_every_assigned_account_a_page_at_a_time(running):
    path, state = running
    instance = rig.call(path, "identity_store")["instanceArn"]
    ps_arn = permission_set(state, instance, "Paged")
    accounts = [str(300000000000 + n) for n in range(60)]
    for account in accounts:
        assign(state, instance, ps_arn, account, str(uuid.uuid4()))
    sso = rig.client(state, "sso-admin")

    pages = list(sso.get_paginator("list_accounts_for_provisioned_permission_set").paginate(
        InstanceArn=instance, PermissionSetArn=ps_arn, PaginationConfig={"PageSize": 25}))
    assert [len(page["AccountIds"]) for page in pages] == [25, 25, 10]
    assert sorted(a for page in pages for a in page["AccountIds"]) == accounts
    whole = sso.list_accounts_for_provisioned_permission_set(InstanceArn=instance, PermissionSetArn=ps_arn)
    assert sorted(whole["AccountIds"]) == accounts and "NextToken" not in whole


def test_provision_permission_set_provisions_to_the_named_account(running):
    path, state = running
    instance = rig.call(path, "identity_store")["instanceArn"]
    ps_arn = permission_set(state, instance, "ProvisionedOnly")
    sso = rig.client(state, "sso-admin")

    sso.provision_permission_set(InstanceArn=instance, PermissionSetArn=ps_arn,
                                 TargetType="AWS_ACCOUNT", TargetId="400000000001")
    assert sso.list_accounts_for_provisioned_permission_set(
        InstanceArn=instance, PermissionSetArn=ps_arn)["AccountIds"] == ["400000000001"]
    assert provisioned_to(state, instance, "400000000001") == {ps_arn}


def test_permission_sets_provisioned_to_an_account_are_that_accounts_only(running):
    path, state = running
    instance = rig.call(path, "identity_store")["instanceArn"]
    auditor, admin = permission_set(state, instance, "Auditor"), permission_set(state, instance, "Admin")
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    assign(state, instance, auditor, "500000000001", alice)
    assign(state, instance, auditor, "500000000002", alice)
    assign(state, instance, admin, "500000000002", bob)

    assert provisioned_to(state, instance, "500000000001") == {auditor}
    assert provisioned_to(state, instance, "500000000002") == {auditor, admin}
    assert provisioned_to(state, instance, "500000000003") == set()
    rig.client(state, "sso-admin").delete_account_assignment(
        InstanceArn=instance, TargetId="500000000002", TargetType="AWS_ACCOUNT",
        PermissionSetArn=admin, PrincipalType="USER", PrincipalId=bob)
    assert provisioned_to(state, instance, "500000000002") == {auditor}


# --- identity store ---------------------------------------------------------------------------


def test_identity_store_ids_have_aws_shape(running):
    path, _ = running
    assert re.fullmatch(r"d-[0-9a-f]{10}", rig.call(path, "identity_store")["identityStoreId"])


def test_identity_store_users_carry_a_status_that_the_rig_can_change(running):
    path, state = running
    store = rig.call(path, "identity_store")["identityStoreId"]
    identitystore = rig.client(state, "identitystore")
    user_id = identitystore.create_user(IdentityStoreId=store, UserName=f"status-{uuid.uuid4().hex[:8]}", DisplayName="S",
                                        Name={"GivenName": "S", "FamilyName": "T"})["UserId"]

    def statuses() -> tuple[str, str]:
        listed = [user for page in identitystore.get_paginator("list_users").paginate(IdentityStoreId=store)
                  for user in page["Users"] if user["UserId"] == user_id]
        return identitystore.describe_user(IdentityStoreId=store, UserId=user_id)["UserStatus"], listed[0]["UserStatus"]

    assert statuses() == ("ENABLED", "ENABLED")
    assert rig.call(path, "set_user_status", identityStoreId=store, userId=user_id, status="DISABLED")["status"] == "DISABLED"
    assert statuses() == ("DISABLED", "DISABLED")
    rig.call(path, "set_user_status", identityStoreId=store, userId=user_id, status="ENABLED")
    assert statuses() == ("ENABLED", "ENABLED")
    for bad in ({"userId": str(uuid.uuid4()), "status": "DISABLED"}, {"userId": user_id, "status": "SUSPENDED"}):
        with pytest.raises(Exception, match="400"):
            rig.call(path, "set_user_status", identityStoreId=store, **bad)


def test_identity_store_users_list_over_several_pages(running):
    path, state = running
    store = rig.call(path, "identity_store")
    created = rig.call(path, "create_identity_store_users",
                       identity_store_id=store["identityStoreId"], count=105, prefix="paged-")
    assert [u["userName"] for u in created][:2] == ["paged-0001", "paged-0002"]
    identitystore = rig.client(state, "identitystore")

    pages = list(identitystore.get_paginator("list_users").paginate(IdentityStoreId=store["identityStoreId"]))
    listed = {u["UserId"]: u for page in pages for u in page["Users"]}
    assert len(pages) > 1
    assert {u["userId"] for u in created} <= set(listed)
    first = listed[created[0]["userId"]]
    assert first["UserName"] == "paged-0001" and first["DisplayName"] and first["Emails"][0]["Value"]


# --- CloudTrail fake, CLI, stop ---------------------------------------------------------------


def test_function_users_are_accepted_by_the_cloudtrail_fake_for_what_their_policy_allows(running):
    path, state = running
    assert state["cloudtrail"] is not None, "the rig starts the CloudTrail fake"
    user = rig.call(path, "create_function_user", name="trail-reader",
                    policy=allow("cloudtrail:LookupEvents", "*"))
    reader = rig.client(state, "cloudtrail", credentials(user))
    reader.lookup_events(MaxResults=1)
    with pytest.raises(ClientError) as denied:
        reader.start_query(QueryStatement="SELECT eventID FROM eds-rig-0000000001")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "cloudtrail:StartQuery" in denied.value.response["Error"]["Message"]
    querier = rig.call(path, "create_function_user", name="trail-querier", policy=allow("cloudtrail:*Query*", "*"))
    assert rig.client(state, "cloudtrail", credentials(querier)).start_query(
        QueryStatement="SELECT eventID FROM eds-rig-0000000001")["QueryId"]
    stranger = {"aws_access_key_id": "AKIAUNKNOWNKEY000000", "aws_secret_access_key": "x"}
    with pytest.raises(ClientError):
        rig.client(state, "cloudtrail", stranger).lookup_events(MaxResults=1)


# --- the corrections a Terraform apply needs ----------------------------------------------------


def bootstrap_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("bootstrap", "#!/bin/sh\n")
    return archive.getvalue()


def test_a_request_without_a_body_is_checked_against_its_real_signature(running):
    """Lambda's GetLayerVersion: a GET with no body; and ListLayerVersions, a GET with a query."""
    lambda_ = rig.client(running[1], "lambda")
    layer = f"layer-{uuid.uuid4().hex[:8]}"
    lambda_.publish_layer_version(LayerName=layer, Content={"ZipFile": bootstrap_zip()})
    assert lambda_.get_layer_version(LayerName=layer, VersionNumber=1)["Version"] == 1
    assert [one["Version"] for one in lambda_.list_layer_versions(LayerName=layer, MaxItems=5)["LayerVersions"]] == [1]
    wrong = rig.client(running[1], "lambda", {"aws_access_key_id": running[1]["admin"]["accessKeyId"],
                                                "aws_secret_access_key": "not-the-secret"})
    with pytest.raises(ClientError) as raised:
        wrong.get_layer_version(LayerName=layer, VersionNumber=1)
    assert wire_error(raised) == (403, "SignatureDoesNotMatch")


def queue_attributes(sqs, url: str, *names: str) -> dict:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names)).get("Attributes", {})


def test_setting_one_queue_attribute_leaves_the_others(running):
    sqs = rig.client(running[1], "sqs")
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = queue_attributes(sqs, url, "QueueArn")["QueueArn"]
    policy = json.dumps(allow("sqs:SendMessage", arn))
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "60"})
    assert queue_attributes(sqs, url, "Policy", "VisibilityTimeout") == {"Policy": policy, "VisibilityTimeout": "60"}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    assert "Policy" not in queue_attributes(sqs, url, "All")


def test_redrive_allow_policy_is_answered_and_cleared(running):
    sqs = rig.client(running[1], "sqs")
    url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    assert "RedriveAllowPolicy" not in queue_attributes(sqs, url, "All")
    allow_policy = json.dumps({"redrivePermission": "allowAll"})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedriveAllowPolicy": allow_policy})
    assert queue_attributes(sqs, url, "RedriveAllowPolicy") == {"RedriveAllowPolicy": allow_policy}
    assert queue_attributes(sqs, url, "All")["RedriveAllowPolicy"] == allow_policy
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedriveAllowPolicy": ""})
    assert "RedriveAllowPolicy" not in queue_attributes(sqs, url, "All")


def test_a_redrive_policy_reads_back_as_aws_writes_it(running):
    sqs = rig.client(running[1], "sqs")
    dlq = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    dlq_arn = queue_attributes(sqs, dlq, "QueueArn")["QueueArn"]
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})})["QueueUrl"]
    assert queue_attributes(sqs, url, "RedrivePolicy")["RedrivePolicy"] == \
        f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":5}}'


def test_a_function_keeps_its_key_dead_letters_and_logging(running):
    state = running[1]
    lambda_, iam, sqs = (rig.client(state, name) for name in ("lambda", "iam", "sqs"))
    name = f"fn-{uuid.uuid4().hex[:8]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = queue_attributes(sqs, dlq, "QueueArn")["QueueArn"]
    key = f"arn:aws:kms:{state['region']}:{state['accountId']}:key/{uuid.uuid4()}"
    lambda_.create_function(FunctionName=name, Runtime="provided.al2023", Handler="bootstrap", Role=role,
                            Code={"ZipFile": bootstrap_zip()})
    assert lambda_.get_function_configuration(FunctionName=name)["LoggingConfig"] == \
        {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"}
    logging_config = {"LogFormat": "JSON", "ApplicationLogLevel": "WARN", "SystemLogLevel": "INFO", "LogGroup": "/custom"}
    lambda_.update_function_configuration(FunctionName=name, KMSKeyArn=key, DeadLetterConfig={"TargetArn": dlq_arn},
                                          LoggingConfig=logging_config, TracingConfig={"Mode": "Active"})
    configuration = lambda_.get_function_configuration(FunctionName=name)
    assert (configuration["KMSKeyArn"], configuration["DeadLetterConfig"], configuration["LoggingConfig"],
            configuration["TracingConfig"]) == (key, {"TargetArn": dlq_arn}, logging_config, {"Mode": "Active"})
    # A path sent percent-encoded (an ARN in it) is checked as signed.
    assert lambda_.list_tags(Resource=configuration["FunctionArn"])["Tags"] == {}


def run_cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "rig", *args],
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


# --- Security Hub (the monitors' findings) ------------------------------------------------------


def asff(state: dict, finding_id: str, generator: str = "idc-compliance/USER_INACTIVITY", status: str = "FAILED",
         record_state: str = "ACTIVE", **extra) -> dict:
    account = state["accountId"]
    return {"SchemaVersion": "2018-10-08", "Id": finding_id, "GeneratorId": generator, "AwsAccountId": account,
            "ProductArn": f"arn:aws:securityhub:us-east-1:{account}:product/{account}/default",
            "Types": ["Software and Configuration Checks/Industry and Regulatory Standards/PCI-DSS"],
            "CreatedAt": "2026-11-01T00:00:00Z", "UpdatedAt": "2026-11-01T00:00:00Z", "Severity": {"Label": "HIGH"},
            "Title": "t", "Description": "d", "Resources": [{"Type": "Other", "Id": finding_id}],
            "Compliance": {"Status": status}, "RecordState": record_state, **extra}


def test_security_hub_refuses_findings_until_enabled_then_checks_and_replaces_them(running):
    _, state = running
    hub = rig.client(state, "securityhub")
    refused = hub.batch_import_findings(Findings=[asff(state, "f-off")])
    assert (refused["FailedCount"], refused["FailedFindings"][0]["ErrorCode"]) == (1, "InvalidAccess")
    with pytest.raises(ClientError) as raised:
        hub.get_findings()
    assert wire_error(raised) == (401, "InvalidAccessException")

    hub.enable_security_hub()
    incomplete = {**asff(state, "f-bad"), "Title": ""}
    answer = hub.batch_import_findings(Findings=[asff(state, "f-1", ProductFields={"DaysSince": "95"}), incomplete])
    assert answer["SuccessCount"] == 1
    assert [(f["Id"], f["ErrorCode"]) for f in answer["FailedFindings"]] == [("f-bad", "InvalidInput")]
    assert "Title" in answer["FailedFindings"][0]["ErrorMessage"]
    with pytest.raises(ClientError) as raised:
        hub.batch_import_findings(Findings=[asff(state, f"f-{n}") for n in range(101)])
    assert wire_error(raised)[1] == "InvalidInputException"

    hub.batch_import_findings(Findings=[asff(state, "f-1", status="PASSED", record_state="ARCHIVED")])
    stored = [f for f in hub.get_findings()["Findings"] if f["Id"] == "f-1"]
    assert len(stored) == 1, "a re-import with the same Id updates, never duplicates"
    assert (stored[0]["Compliance"]["Status"], stored[0]["RecordState"]) == ("PASSED", "ARCHIVED")
    assert "ProductFields" not in stored[0], "the provider's fields are replaced, not merged"


def test_security_hub_get_findings_applies_string_filters_and_pages(running):
    _, state = running
    hub = rig.client(state, "securityhub")
    hub.enable_security_hub()
    findings = [asff(state, f"flt/a/{n:03}") for n in range(130)] + [
        asff(state, "flt/b/1"), asff(state, "flt/a/passed", status="PASSED"),
        asff(state, "flt/a/other", generator="idc-compliance/PASSWORD_EXPIRY")]
    for start in range(0, len(findings), 100):
        assert hub.batch_import_findings(Findings=findings[start:start + 100])["FailedCount"] == 0
    filters = {"Id": [{"Value": "flt/a/", "Comparison": "PREFIX"}],
               "GeneratorId": [{"Value": "idc-compliance/USER_INACTIVITY", "Comparison": "EQUALS"}],
               "ComplianceStatus": [{"Value": "PASSED", "Comparison": "NOT_EQUALS"}],
               "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}]}
    pages = list(hub.get_paginator("get_findings").paginate(Filters=filters, MaxResults=100))
    assert [len(p["Findings"]) for p in pages] == [100, 30]
    assert sorted(f["Id"] for p in pages for f in p["Findings"]) == [f"flt/a/{n:03}" for n in range(130)]
    with pytest.raises(ClientError) as raised:
        hub.get_findings(Filters={"SeverityLabel": [{"Value": "HIGH", "Comparison": "EQUALS"}]})
    assert wire_error(raised)[1] == "InvalidInputException", "a filter the rig does not apply is refused, not ignored"


def test_state_machine_definitions_are_validated_and_versions_listed_as_step_functions_does(running):
    _, state = running
    sfn = rig.client(state, "stepfunctions")
    good = {"StartAt": "Go", "States": {"Go": {"Type": "Pass", "Next": "Done"}, "Done": {"Type": "Succeed"}}}
    answer = sfn.validate_state_machine_definition(definition=json.dumps(good))
    assert (answer["result"], answer["diagnostics"]) == ("OK", [])
    bad = {"StartAt": "Go", "States": {"Go": {"Type": "Pass", "Next": "Nowhere"}, "Lost": {"Type": "Wait", "Seconds": 1, "End": True},
                                       "Odd": {"Type": "Jump", "End": True}, "Both": {"Type": "Succeed", "Next": "Go"}}}
    answer = sfn.validate_state_machine_definition(definition=json.dumps(bad))
    assert answer["result"] == "FAIL"
    assert {(d["code"], d["location"]) for d in answer["diagnostics"]} == {
        ("MISSING_TRANSITION_TARGET", "/States/Go"), ("UNREACHABLE_STATE", "/States/Lost"), ("SCHEMA_VALIDATION_FAILED", "/States/Odd/Type"),
        ("SCHEMA_VALIDATION_FAILED", "/States/Both"), ("UNREACHABLE_STATE", "/States/Both")}
    assert sfn.validate_state_machine_definition(definition="{not json")["diagnostics"][0]["code"] == "INVALID_JSON_DESCRIPTION"
    role = rig.client(state, "iam").create_role(RoleName="sfn-versions", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    machine = sfn.create_state_machine(name="versions", definition=json.dumps(good), roleArn=role, publish=True)
    assert [v["stateMachineVersionArn"] for v in sfn.list_state_machine_versions(stateMachineArn=machine["stateMachineArn"])[
        "stateMachineVersions"]] == [machine["stateMachineArn"] + ":1"]


def test_cli_call_and_env(running):
    path, state = running
    table = json.loads(run_cli("call", "create_table", "--state", str(path), "--args", '{"name": "cli-table"}'))
    assert table == {"tableName": "cli-table",
                     "tableArn": f"arn:aws:dynamodb:us-east-1:{state['accountId']}:table/cli-table"}
    lines = run_cli("env", "--state", str(path)).splitlines()
    assert f"export AWS_ENDPOINT_URL={state['moto']['url']}" in lines
    assert f"export AWS_ACCESS_KEY_ID={state['admin']['accessKeyId']}" in lines
    assert "export AWS_REGION=us-east-1" in lines


def test_an_unknown_fixture_is_refused(running):
    path, _ = running
    with pytest.raises(ValueError, match="create_table"):
        rig.call(path, "drop_everything")


def test_stop_ends_every_process_and_is_idempotent(tmp_path):
    path = tmp_path / "state.json"
    state = rig.start(path)
    pids = [state[name]["pid"] for name in ("moto", "cloudtrail") if state[name]]

    rig.stop(path)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not path.exists()
    rig.stop(path)
