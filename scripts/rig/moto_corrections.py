"""Where moto 5.2.1 is not AWS, corrected: monkeypatches that moto_launcher.py applies before its
server starts. Each names the moto code it corrects and what AWS does instead.

What the functions need (the first three are the ones moto is known for):
- (1), (2) sso-admin: ListAccountsForProvisionedPermissionSet answers moto's own account only, and
  ListPermissionSetsProvisionedToAccount ignores AccountId; neither pages.
- (3) IAM evaluation knows the request's resource for S3, SQS, IAM and STS only and judges every
  other service against `*`: DynamoDB gets its table ARNs, services with no resource are judged on
  the action alone.
- moto's identity store ids do not fit AWS's pattern `d-[0-9a-f]{10}`, which the functions check.
- SQS batch operations are authorised as their single-message actions, as in AWS.
- Identity store users carry neither UserStatus (ENABLED or DISABLED, answered by DescribeUser and
  ListUsers since November 2025) nor ExternalIds (set by SCIM only, which moto lacks): both are
  answered from per-user extras, which the rig sets (`set_user_extras`; POST /_rig/user-status).

What the monitors' Security Hub findings need (FINDINGS=securityhub):
- GetFindings ignores its Filters and answers every finding: the string filters the monitors use
  (EQUALS, NOT_EQUALS, PREFIX on ProductArn, GeneratorId, Id, RecordState, ComplianceStatus,
  AwsAccountId) are applied; any other filter is refused rather than ignored.
- BatchImportFindings takes any number of findings, with any fields, whether Security Hub is
  enabled or not, and merges a re-imported finding into the old one. AWS refuses more than 100 a
  call, fails the entries that lack a required field (InvalidInput), fails every entry while
  Security Hub is not enabled (InvalidAccess), and replaces the finding's provider fields.
- GetFindings answers while Security Hub is not enabled; AWS refuses (InvalidAccessException).

What a Terraform apply of infra/ needs (Tests/infra/test_terraform.py applies it to the rig):
- Signatures: a request with neither body nor form (a REST GET such as Lambda's GetLayerVersion) is
  checked as if its query or headers were its body, and a path sent percent-encoded (Lambda's
  ListTags on an ARN) is checked decoded: either way its correct signature is refused.
- Signatures of form posts (the Query protocol: SNS Publish) are checked over moto's own
  re-encoding of the parsed form (`+` for a space, its own escapes), not the bytes sent, so a
  correct signature over `%20` is refused; AWS signs the bytes. The launcher hands each form
  post's bytes to the check (`remember_form_body`).
- SQS: RedriveAllowPolicy is stored but never returned, and asking for it by name fails; setting any
  attribute wipes the queue's Policy; RedrivePolicy comes back with other whitespace than AWS's.
- Lambda: KMSKeyArn, DeadLetterConfig and LoggingConfig are neither stored nor returned.
- Step Functions: ListStateMachineVersions, which Terraform reads a state machine with, is missing
  (moto keeps the versions, and answers none). ValidateStateMachineDefinition, which Terraform
  calls before it creates a state machine, is missing too. It is answered from the checks AWS documents for its result `FAIL` with
  diagnostics (`asl_validation`): the definition is JSON, `StartAt` names a state, every state has a
  known `Type`, every `Next`, `Default` and choice `Next` names a state, every state that can go on
  has a `Next` or `End` and every state that ends goes nowhere else, and every state is reachable.

They were read against moto 5.2.1 only, so another version is refused.
"""
from __future__ import annotations

import json
import threading

MOTO_VERSION = "5.2.1"
# Each sso-admin list answers at most this many items a page: AWS's maximum MaxResults, and the
# default moto uses for its other sso-admin lists.
SSO_ADMIN_PAGE_DEFAULT = 100


class _UnknownResource(str):
    """The resource of a request moto cannot name; matched by identity, never by value."""


UNKNOWN_RESOURCE = _UnknownResource("*")


# --- (1) and (2): sso-admin provisioning ------------------------------------------------------


def _provision_targets(backend) -> set[tuple[str, str, str]]:
    """(instance ARN, permission set ARN, account id) named by ProvisionPermissionSet calls."""
    if not hasattr(backend, "rig_provision_targets"):
        backend.rig_provision_targets = set()
    return backend.rig_provision_targets


def record_provision_target(backend, instance_arn: str, permission_set_arn: str, account_id: str) -> None:
    """What ProvisionPermissionSet to an account leaves in AWS, for seeding that bypasses the API."""
    _provision_targets(backend).add((instance_arn, permission_set_arn, account_id))


def _provisioned_pairs(backend, instance_arn: str) -> set[tuple[str, str]]:
    """(account id, permission set ARN) pairs provisioned in an instance, as AWS keeps them: a
    permission set is provisioned to an account by an assignment there, or by
    ProvisionPermissionSet naming the account. Deleted permission sets are provisioned nowhere."""
    existing = {ps.permission_set_arn for ps in backend.permission_sets}
    pairs = {
        (assignment.target_id, assignment.permission_set_arn)
        for assignment in backend.account_assignments
        if assignment.instance_arn == instance_arn
    }
    pairs |= {
        (account, ps_arn)
        for instance, ps_arn, account in _provision_targets(backend)
        if instance == instance_arn
    }
    return {(account, ps_arn) for account, ps_arn in pairs if ps_arn in existing}


def _page(response, result_key: str, values: list[str], checked: dict) -> str:
    """One page of `values` with moto's own opaque NextToken, bound to the `checked` inputs.
    moto never leaves a permission set outdated in an account, so a filter on
    LATEST_PERMISSION_SET_NOT_PROVISIONED finds nothing."""
    from moto.utilities.paginator import Paginator

    if response._get_param("ProvisioningStatus") == "LATEST_PERMISSION_SET_NOT_PROVISIONED":
        values = []
    paginator = Paginator(
        max_results=response._get_param("MaxResults"),
        max_results_default=SSO_ADMIN_PAGE_DEFAULT,
        starting_token=response._get_param("NextToken"),
        unique_attribute="value",
        param_values_to_check=checked,
    )
    page, next_token = paginator.paginate([{"value": value} for value in values])
    body = {result_key: [item["value"] for item in page]}
    if next_token:
        body["NextToken"] = next_token
    return json.dumps(body)


def _patch_sso_admin() -> None:
    """moto's ssoadmin/models.py keeps one list of provisioned permission sets per instance,
    ignores ProvisionPermissionSet's TargetId, answers ListAccountsForProvisionedPermissionSet
    with moto's own account only, and ListPermissionSetsProvisionedToAccount ignores AccountId;
    neither pages. AWS answers every account the permission set is provisioned to, and only the
    permission sets provisioned to the given account, a page at a time."""
    from moto.ssoadmin.responses import SSOAdminResponse

    original_provision = SSOAdminResponse.provision_permission_set

    def provision_permission_set(self) -> str:
        answer = original_provision(self)
        if self._get_param("TargetType") == "AWS_ACCOUNT":
            record_provision_target(self.ssoadmin_backend, self._get_param("InstanceArn"),
                                    self._get_param("PermissionSetArn"), self._get_param("TargetId"))
        return answer

    def list_accounts_for_provisioned_permission_set(self) -> str:
        instance_arn = self._get_param("InstanceArn")
        ps_arn = self._get_param("PermissionSetArn")
        accounts = sorted(
            account for account, arn in _provisioned_pairs(self.ssoadmin_backend, instance_arn) if arn == ps_arn
        )
        return _page(self, "AccountIds", accounts, {"InstanceArn": instance_arn, "PermissionSetArn": ps_arn})

    def list_permission_sets_provisioned_to_account(self) -> str:
        instance_arn = self._get_param("InstanceArn")
        account_id = self._get_param("AccountId")
        ps_arns = sorted(
            arn for account, arn in _provisioned_pairs(self.ssoadmin_backend, instance_arn) if account == account_id
        )
        return _page(self, "PermissionSets", ps_arns, {"InstanceArn": instance_arn, "AccountId": account_id})

    SSOAdminResponse.provision_permission_set = provision_permission_set
    SSOAdminResponse.list_accounts_for_provisioned_permission_set = list_accounts_for_provisioned_permission_set
    SSOAdminResponse.list_permission_sets_provisioned_to_account = list_permission_sets_provisioned_to_account


# --- (3): the resource IAM policies are judged against ----------------------------------------


def _dynamodb_table_names(body: dict) -> list[str]:
    """Every table a DynamoDB request names: TableName, the batch calls' RequestItems, the
    transactions' items. Requests that name none (ListTables) are judged on `*`, as in AWS."""
    if "TableName" in body:
        return [body["TableName"]]
    names = list(body.get("RequestItems", {}))
    for item in body.get("TransactItems", []):
        names += [operation["TableName"] for operation in item.values() if "TableName" in operation]
    return list(dict.fromkeys(names))


def _dynamodb_resource(self) -> str | tuple[str, ...]:
    """The table ARN (or the index ARN for a Query or Scan on an index) the request acts on,
    as AWS authorises DynamoDB; a tuple when it acts on several tables."""
    try:
        body = json.loads(self.raw_body or b"{}")
    except ValueError:
        return "*"
    if not isinstance(body, dict):
        return "*"
    prefix = f"arn:{self.partition}:dynamodb:{self.region}:{self.current_account}:table/"
    # DynamoDB also takes a table's ARN wherever it takes its name.
    arns = [name if name.startswith("arn:") else prefix + name for name in _dynamodb_table_names(body)]
    if not arns:
        return "*"
    if len(arns) == 1 and "IndexName" in body:
        return f"{arns[0]}/index/{body['IndexName']}"
    return arns[0] if len(arns) == 1 else tuple(arns)


def _patch_iam_resources() -> None:
    """moto/core/responses.py `call_action` judges a request against `_determine_resource()`,
    which only SQS, IAM and STS define (S3 has its own); every other service is judged against
    `*`, which a statement scoped to a real ARN never matches (`IAMPolicyStatement._match` is a
    regular expression of the statement's Resource over the request's resource). So: DynamoDB
    names its tables; services with no resource are judged on the action alone (their
    statements' Resource matches anything); a request on several resources needs each one
    allowed, as a DynamoDB batch does in AWS."""
    from moto.core.responses import BaseResponse
    from moto.dynamodb.responses import DynamoHandler
    from moto.iam.access_control import IAMPolicyStatement, IAMRequestBase

    BaseResponse._determine_resource = lambda self: UNKNOWN_RESOURCE
    DynamoHandler._determine_resource = _dynamodb_resource

    original_matches = IAMPolicyStatement._check_element_matches

    def check_element_matches(self, statement_element, value) -> bool:
        if statement_element == "Resource" and value is UNKNOWN_RESOURCE:
            return True
        return original_matches(self, statement_element, value)

    original_permitted = IAMRequestBase.check_action_permitted

    def check_action_permitted(self, resource) -> None:
        for one in resource if isinstance(resource, tuple) else (resource,):
            original_permitted(self, one)

    IAMPolicyStatement._check_element_matches = check_element_matches
    IAMRequestBase.check_action_permitted = check_action_permitted


# --- identity store ids and SQS batch actions ---------------------------------------------------


def _patch_identity_store_id() -> None:
    """moto.ssoadmin.models.Instance draws `d-` + 10 letters and digits; AWS's ids are hex."""
    import secrets

    from moto.ssoadmin import models

    original_init = models.Instance.__init__

    def __init__(self, account_id: str, region: str) -> None:
        original_init(self, account_id, region)
        self.identity_store_id = f"d-{secrets.token_hex(5)}"

    models.Instance.__init__ = __init__


# SQS's batch operations are authorised by their single-message actions in AWS (the service
# authorization reference lists no sqs:SendMessageBatch); moto asks for the batch name.
IAM_ACTION_OF_OPERATION = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


def _patch_batch_actions() -> None:
    """moto.iam.access_control.IAMRequestBase.__init__ makes `<service>:<operation>` the action
    judged; AWS judges SQS batch operations as their single-message actions."""
    from moto.iam.access_control import IAMRequestBase

    original_init = IAMRequestBase.__init__

    def __init__(self, *args, **kwargs) -> None:
        original_init(self, *args, **kwargs)
        self._action = IAM_ACTION_OF_OPERATION.get(self._action, self._action)

    IAMRequestBase.__init__ = __init__


# The bytes of the form post this server thread is answering (moto's threaded server answers one
# request a thread), set by the launcher's middleware before moto parses the form.
_FORM_BODY = threading.local()


def remember_form_body(body: bytes | None) -> None:
    _FORM_BODY.value = body


def _patch_signature_of_bodiless_requests() -> None:
    """moto/core/responses.py `setup_class` fills `self.data` with the query, else the form, else
    the request's headers, and moto/iam/access_control.py `_create_aws_request` signs
    `body or data`: a request without a body is checked as if that dict were its form-encoded
    body. Only a form post (whose body werkzeug has parsed into the form) has its body in `data`;
    any other request is signed over the body it was sent with, empty or not, as in AWS."""
    from moto.iam.access_control import IAMRequestBase

    original_create = IAMRequestBase._create_aws_request

    def _create_aws_request(self):
        request = original_create(self)
        content_type = next((value for name, value in self._headers.items() if name.lower() == "content-type"), "")
        form_post = content_type.startswith("application/x-www-form-urlencoded")
        if not self._body and not form_post:
            request.data = b""
        if form_post and getattr(_FORM_BODY, "value", None) is not None:
            request.data = _FORM_BODY.value
        return request

    IAMRequestBase._create_aws_request = _create_aws_request


# --- identity store users: UserStatus and ExternalIds ---------------------------------------------


def user_extras(backend) -> dict[str, dict]:
    """What moto's users lack, by user id, for one identity store backend."""
    if not hasattr(backend, "rig_user_extras"):
        backend.rig_user_extras = {}
    return backend.rig_user_extras


def set_user_extras(backend, identity_store_id: str, user_id: str, **extras) -> None:
    """Sets a user's UserStatus or ExternalIds; a user the store does not hold is refused as AWS
    would refuse it (ResourceNotFoundException)."""
    backend.describe_user(identity_store_id, user_id)
    user_extras(backend).setdefault(user_id, {}).update(extras)


def _with_extras(backend, user: dict) -> dict:
    return {**user, "UserStatus": "ENABLED", **user_extras(backend).get(user.get("UserId"), {})}


def _patch_identity_store_users() -> None:
    """moto/identitystore/responses.py answers DescribeUser and ListUsers with moto's `User`
    fields only; AWS also answers UserStatus (ENABLED unless an administrator disabled the
    user) and, for users an external identity provider provisioned, ExternalIds."""
    from moto.identitystore.responses import IdentityStoreResponse

    original_describe = IdentityStoreResponse.describe_user
    original_list = IdentityStoreResponse.list_users

    def describe_user(self) -> str:
        return json.dumps(_with_extras(self.identitystore_backend, json.loads(original_describe(self))))

    def list_users(self) -> str:
        answer = json.loads(original_list(self))
        answer["Users"] = [_with_extras(self.identitystore_backend, user) for user in answer.get("Users", [])]
        return json.dumps(answer)

    IdentityStoreResponse.describe_user = describe_user
    IdentityStoreResponse.list_users = list_users


def _patch_signature_of_encoded_paths() -> None:
    """moto/core/authorization.py `_authenticate_and_authorize_action` checks the signature over
    `self.uri`, whose path werkzeug has percent-decoded: `/tags/arn%3Aaws%3A…` is checked as
    `/tags/arn:aws:…`. AWS (SigV4 for every service but S3) signs the path as it was sent, encoded
    once more; so the check here uses the raw path (`raw_path`, from werkzeug's RAW_URI). S3's own
    check is left alone: its canonical path is not encoded twice."""
    from urllib.parse import urlparse, urlunparse

    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import S3IAMRequest

    original = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def _authenticate_and_authorize_action(self, iam_request_cls, resource="*"):
        raw_path = getattr(self, "raw_path", None)
        if iam_request_cls is S3IAMRequest or not raw_path:
            return original(self, iam_request_cls, resource)
        decoded_uri = self.uri
        self.uri = urlunparse(urlparse(decoded_uri)._replace(path=raw_path))
        try:
            return original(self, iam_request_cls, resource)
        finally:
            self.uri = decoded_uri

    ActionAuthenticatorMixin._authenticate_and_authorize_action = _authenticate_and_authorize_action


def apply_patches() -> None:
    """All the corrections; refuses a moto other than the one they were read against."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise SystemExit(f"moto {MOTO_VERSION} is required (the patches were checked against it); found {moto.__version__}")
    _patch_sso_admin()
    _patch_iam_resources()
    _patch_identity_store_id()
    _patch_batch_actions()
    _patch_identity_store_users()
    _patch_signature_of_bodiless_requests()
    _patch_signature_of_encoded_paths()
    _patch_sqs_attributes()
    _patch_lambda_configuration()
    _patch_state_machine_validation()
    _patch_securityhub_findings()


# --- what a Terraform apply needs: SQS queue attributes ------------------------------------------


def _patch_sqs_attributes() -> None:
    """moto/sqs/models.py `Queue`: `_set_attributes` sets `self.policy` from every call, so a
    SetQueueAttributes without Policy removes it; RedriveAllowPolicy is stored by the generic
    setattr but is not among the attributes answered or accepted by name; `attributes` dumps
    RedrivePolicy with `json.dumps`' spaces. AWS changes only the attributes a call names (an
    empty value clears one), answers RedriveAllowPolicy like any other, and writes its JSON
    without spaces. The AWS provider waits for what it set to read back, so each of these hangs
    or keeps changing an apply."""
    from moto.sqs.models import Queue

    Queue.BASE_ATTRIBUTES = [*Queue.BASE_ATTRIBUTES, "RedriveAllowPolicy"]
    Queue.redrive_allow_policy = None  # the class default: a queue made without one has none
    original_set = Queue._set_attributes
    original_attributes = Queue.attributes.fget

    def _set_attributes(self, attributes: dict, now=None) -> None:
        policy = getattr(self, "policy", None)
        original_set(self, attributes, now)
        if "Policy" not in attributes:
            self.policy = policy
        for name in ("Policy", "RedriveAllowPolicy"):
            if name in attributes and not attributes[name]:
                setattr(self, "policy" if name == "Policy" else "redrive_allow_policy", None)

    def attributes(self) -> dict:
        answer = original_attributes(self)
        if self.redrive_policy:
            answer["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
        if not answer.get("RedriveAllowPolicy"):
            answer.pop("RedriveAllowPolicy", None)
        return answer

    Queue._set_attributes = _set_attributes
    Queue.attributes = property(attributes)


# --- what a Terraform apply needs: Lambda function configuration ---------------------------------

# The parts of a function's configuration moto drops, with what AWS answers when none is given.
LAMBDA_KEPT_CONFIGURATION = ("KMSKeyArn", "DeadLetterConfig", "LoggingConfig")


def _default_logging_config(function) -> dict:
    return {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function.function_name}"}


def _patch_lambda_configuration() -> None:
    """moto/awslambda/models.py `LambdaFunction` reads neither KMSKeyArn, DeadLetterConfig nor
    LoggingConfig from CreateFunction or UpdateFunctionConfiguration, and `get_configuration`
    answers none of them; AWS keeps and answers all three (LoggingConfig with its defaults, Text
    and /aws/lambda/<name>, when none was given)."""
    from moto.awslambda.models import LambdaFunction

    original_init = LambdaFunction.__init__
    original_update = LambdaFunction.update_configuration
    original_get = LambdaFunction.get_configuration

    def __init__(self, account_id: str, spec: dict, *args, **kwargs) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.rig_configuration = {name: spec[name] for name in LAMBDA_KEPT_CONFIGURATION if spec.get(name)}

    def update_configuration(self, config_updates: dict) -> dict:
        for name in LAMBDA_KEPT_CONFIGURATION:
            if name in config_updates:
                self.rig_configuration[name] = config_updates[name]
        if "TracingConfig" in config_updates:
            self.tracing_config = config_updates["TracingConfig"]
        return original_update(self, config_updates)

    def get_configuration(self, *args, **kwargs) -> dict:
        configuration = original_get(self, *args, **kwargs)
        kept = getattr(self, "rig_configuration", {})
        logging_config = {**_default_logging_config(self), **kept.get("LoggingConfig", {})}
        configuration.update({name: value for name, value in kept.items() if value})
        configuration["LoggingConfig"] = logging_config
        return configuration

    LambdaFunction.__init__ = __init__
    LambdaFunction.update_configuration = update_configuration
    LambdaFunction.get_configuration = get_configuration


# --- what a Terraform apply needs: Step Functions' definition check ------------------------------

STATE_TYPES = {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}


def asl_diagnostics(definition: str) -> list[dict]:
    """What ValidateStateMachineDefinition reports as errors for `definition` (Amazon States
    Language): an empty list for a definition it accepts."""
    def error(code: str, message: str, location: str = "") -> dict:
        return {"severity": "ERROR", "code": code, "message": message, "location": location}

    try:
        machine = json.loads(definition)
    except ValueError as problem:
        return [error("INVALID_JSON_DESCRIPTION", f"the definition is not JSON: {problem}")]
    states = machine.get("States") if isinstance(machine, dict) else None
    if not isinstance(states, dict) or not states:
        return [error("SCHEMA_VALIDATION_FAILED", "the definition needs a States object with at least one state", "/States")]
    found = []
    if machine.get("StartAt") not in states:
        found.append(error("MISSING_TRANSITION_TARGET", f"StartAt names no state: {machine.get('StartAt')!r}", "/StartAt"))
    following: dict[str, set[str]] = {}
    for name, state in states.items():
        where = f"/States/{name}"
        kind = state.get("Type") if isinstance(state, dict) else None
        if kind not in STATE_TYPES:
            found.append(error("SCHEMA_VALIDATION_FAILED", f"{name}: unknown Type {kind!r}", f"{where}/Type"))
            continue
        targets = {state.get("Next"), state.get("Default")} | {choice.get("Next") for choice in state.get("Choices", [])}
        targets.discard(None)
        following[name] = targets
        for target in sorted(targets - set(states)):
            found.append(error("MISSING_TRANSITION_TARGET", f"{name} goes to {target!r}, which is no state", where))
        if kind == "Choice" and not state.get("Choices"):
            found.append(error("SCHEMA_VALIDATION_FAILED", f"{name}: a Choice state needs Choices", f"{where}/Choices"))
        if kind not in ("Choice", "Succeed", "Fail") and not state.get("Next") and not state.get("End"):
            found.append(error("SCHEMA_VALIDATION_FAILED", f"{name}: a {kind} state needs Next or End", where))
        if (kind in ("Succeed", "Fail") or state.get("End")) and targets:
            found.append(error("SCHEMA_VALIDATION_FAILED", f"{name}: a state that ends goes nowhere else", where))
    reached, frontier = set(), [machine.get("StartAt")]
    while frontier:
        name = frontier.pop()
        if name in following and name not in reached:
            reached.add(name)
            frontier += following[name]
    for name in sorted(set(following) - reached):
        found.append(error("UNREACHABLE_STATE", f"{name} cannot be reached from StartAt", f"/States/{name}"))
    return found


def _patch_state_machine_validation() -> None:
    """moto/stepfunctions/responses.py has neither ValidateStateMachineDefinition, which AWS answers
    `{"result": "OK" | "FAIL", "diagnostics": [...], "truncated": false}`, nor
    ListStateMachineVersions, which AWS answers `{"stateMachineVersions": [...]}`, newest first."""
    from moto.stepfunctions.responses import StepFunctionResponse

    def validate_state_machine_definition(self) -> str:
        diagnostics = asl_diagnostics(self._get_param("definition") or "")
        return json.dumps({"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics, "truncated": False})

    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition

    def list_state_machine_versions(self) -> str:
        machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
        versions = sorted(getattr(machine, "versions", {}).values(), key=lambda version: -version.version)
        return json.dumps({"stateMachineVersions": [
            {"stateMachineVersionArn": version.arn, "creationDate": version.creation_date.timestamp()} for version in versions]})

    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions


# --- the monitors' findings: Security Hub ----------------------------------------------------------

SECURITYHUB_IMPORT_LIMIT = 100
# ASFF's required attributes; Severity and Types may come in FindingProviderFields instead.
ASFF_REQUIRED = ("SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "CreatedAt", "UpdatedAt", "Title",
                 "Description", "Resources")
# GetFindings string filters the rig answers: the finding's value for each.
FINDING_FILTER_FIELDS = {
    "ProductArn": lambda f: f.get("ProductArn"), "GeneratorId": lambda f: f.get("GeneratorId"), "Id": lambda f: f.get("Id"),
    "RecordState": lambda f: f.get("RecordState", "ACTIVE"), "AwsAccountId": lambda f: f.get("AwsAccountId"),
    "ComplianceStatus": lambda f: (f.get("Compliance") or {}).get("Status"),
}
STRING_COMPARISONS = {
    "EQUALS": lambda value, wanted: value == wanted, "NOT_EQUALS": lambda value, wanted: value != wanted,
    "PREFIX": lambda value, wanted: value is not None and value.startswith(wanted),
    "PREFIX_NOT_EQUALS": lambda value, wanted: value is None or not value.startswith(wanted),
}


def _finding_matches(finding: dict, filters: dict) -> bool:
    """AWS's rule: every field's filters must hold; within a field, EQUALS and PREFIX filters
    are ORed and the negative ones ANDed."""
    for field, conditions in filters.items():
        value = FINDING_FILTER_FIELDS[field](finding)
        positive = [c for c in conditions if not c["Comparison"].endswith("NOT_EQUALS")]
        negative = [c for c in conditions if c["Comparison"].endswith("NOT_EQUALS")]
        if positive and not any(STRING_COMPARISONS[c["Comparison"]](value, c["Value"]) for c in positive):
            return False
        if not all(STRING_COMPARISONS[c["Comparison"]](value, c["Value"]) for c in negative):
            return False
    return True


def _patch_securityhub_findings() -> None:
    from moto.securityhub import exceptions, models

    class InvalidAccessException(exceptions.SecurityHubClientError):
        def __init__(self, account_id: str):
            super().__init__("InvalidAccessException", f"Account {account_id} is not subscribed to AWS Security Hub")

    # moto finds an error's service, and so its HTTP status, by the module that defines it.
    InvalidAccessException.__module__ = exceptions.__name__

    def checked_filters(filters: dict | None) -> dict:
        for field, conditions in (filters or {}).items():
            if field not in FINDING_FILTER_FIELDS or not all(c.get("Comparison") in STRING_COMPARISONS for c in conditions):
                raise exceptions.InvalidInputException(
                    op="GetFindings", msg=f"the rig answers string filters on {sorted(FINDING_FILTER_FIELDS)} only, not {field}")
        return filters or {}

    def get_findings(self, filters=None, sort_criteria=None, max_results=None, next_token=None):
        if not self.enabled:
            raise InvalidAccessException(self.account_id)
        wanted, size = checked_filters(filters), int(max_results or 100)
        if not 1 <= size <= 100:
            raise exceptions.InvalidInputException(op="GetFindings", msg="MaxResults must be a number between 1 and 100")
        matching = [f.as_dict() for f in self.findings if _finding_matches(f.as_dict(), wanted)]
        start = int(next_token or 0)
        page = matching[start:start + size]
        return page, (str(start + size) if start + size < len(matching) else None)

    def batch_import_findings(self, findings):
        if len(findings) > SECURITYHUB_IMPORT_LIMIT:
            raise exceptions.InvalidInputException(
                op="BatchImportFindings", msg=f"at most {SECURITYHUB_IMPORT_LIMIT} findings a request, not {len(findings)}")
        failed = []
        for finding in findings:
            providers = finding.get("FindingProviderFields") or {}
            missing = [k for k in ASFF_REQUIRED if not finding.get(k)]
            missing += [k for k in ("Severity", "Types") if not finding.get(k) and not providers.get(k)]
            if not self.enabled:
                failed.append({"Id": finding.get("Id", ""), "ErrorCode": "InvalidAccess",
                               "ErrorMessage": f"Account {self.account_id} is not subscribed to AWS Security Hub"})
            elif missing:
                failed.append({"Id": finding.get("Id", ""), "ErrorCode": "InvalidInput",
                               "ErrorMessage": f"Finding is missing required attributes: {', '.join(missing)}"})
            else:
                existing = next((f for f in self.findings if f.id == finding["Id"]), None)
                if existing:
                    existing.data = dict(finding)
                else:
                    self.findings.append(models.Finding(finding["Id"], dict(finding)))
        return len(failed), len(findings) - len(failed), failed

    models.SecurityHubBackend.get_findings = get_findings
    models.SecurityHubBackend.batch_import_findings = batch_import_findings
