#!/usr/bin/env python3
"""moto's server on loopback, corrected where moto 5.2.1 is not AWS (DESIGN.md, "Real components").

    INITIAL_NO_AUTH_ACTION_COUNT=3 python scripts/rig/moto_launcher.py --port 0 --port-file F

Auth stays on: the launcher refuses to start without INITIAL_NO_AUTH_ACTION_COUNT, which moto
reads once, when `moto.settings` is imported (default: infinity, i.e. never authenticate). How
moto counts, read in moto/core/authorization.py (`ActionAuthenticatorMixin`):

- One process-wide counter (`ActionAuthenticatorMixin.request_count`, a class attribute shared by
  every service, account, region and server thread, incremented without a lock).
- It moves in `_authenticate_and_authorize_action`, which runs once per request, before the
  action: from `BaseResponse.call_action` for the JSON and query services (DynamoDB, IAM, STS,
  SQS, Organizations, Identity Store, SSO Admin, ...) and from each S3 handler. While the counter
  is below the limit the request is let through unsigned and unchecked and the counter goes up
  by one, whether the action then succeeds or fails. From then on the counter stops and every
  such request is checked: SigV4 signature first, then the caller's IAM policies.
- Not counted, never authenticated: moto's own `/moto-api/...` endpoints (used here to see that
  the server is up) and any handler that bypasses both paths (none among the services the
  project uses: DynamoDB, SQS, S3, IAM, STS, Identity Store, SSO Admin, Organizations).
- After the limit, a request without an `Authorization` header fails with a server error (moto
  reads the header unguarded); `sts:GetCallerIdentity` is always allowed once the signature is
  right; POST `/moto-api/reset-auth` sets a new limit and restarts the count at zero.

The corrections are monkeypatches applied before the server starts; each names the moto code it
corrects. Besides DESIGN.md's three: SQS batch operations are authorised as their single-message
actions, as in AWS; and moto's identity store ids (`d-` and ten random letters and
digits) do not fit AWS's pattern `d-[0-9a-f]{10}`, which the functions check. They were read against moto 5.2.1 only, so another version is refused.

Besides the corrections, scale knobs for the benchmark (`RigKnobs`, a WSGI middleware in front of
moto, off until configured): per-request latency and per-service rate limits answered as AWS's
throttling, request counts per service and operation, and POST /_rig/organisation, which builds a
synthetic organisation (scripts/rig/organisation.py) in moto's backends in-process. Admin routes
under /_rig/ answer loopback clients only; see the section "scale knobs" below.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

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
            _provision_targets(self.ssoadmin_backend).add(
                (self._get_param("InstanceArn"), self._get_param("PermissionSetArn"), self._get_param("TargetId"))
            )
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


# --- the server -------------------------------------------------------------------------------


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


def apply_patches() -> None:
    """All the corrections; refuses a moto other than the one they were read against."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise SystemExit(f"moto {MOTO_VERSION} is required (the patches were checked against it); found {moto.__version__}")
    _patch_sso_admin()
    _patch_iam_resources()
    _patch_identity_store_id()
    _patch_batch_actions()


# --- scale knobs: latency, rate limits, request counts, fast seeding (scripts/bench) ----------
# Added around moto, not into it: a WSGI middleware in front of moto's app, and admin routes under
# /_rig/ that answer loopback clients only. Everything is off until POST /_rig/config turns it on,
# so a rig nobody configures behaves as before (it only counts requests).
#
#   POST /_rig/config   {"latencyMs": 20, "ratePerSecond": 20, "services": ["sso", "identitystore"]}
#                       also "burst" (the token bucket's size; default one second's worth) and
#                       "shared" (true: the services share one bucket instead of one each)
#   GET  /_rig/config   DELETE /_rig/config (back to the defaults)
#   GET  /_rig/stats    requests, throttles, moto's busy time, first and last arrival per service
#                       and operation; DELETE resets them
#   POST /_rig/organisation  {"spec": <organisation.py spec>} or {"generate": {"users": 1000, ...}}
#                       builds the organisation in moto's backends in-process; answers the ids
#
# A request's service is the one its SigV4 credential scope names (`sso` for SSO Admin,
# `identitystore`, `organizations`, `dynamodb`, ...); its operation the X-Amz-Target's, else the
# query's Action, else the HTTP method (S3).

RIG_ADMIN_PREFIX = "/_rig/"
RIG_DEFAULT_CONFIG = {"latencyMs": 0, "ratePerSecond": 0, "burst": None, "services": [], "shared": False}
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")
_JSON_11 = "application/x-amz-json-1.1"
# ExternalIds of users seeded by /_rig/organisation, by user id: the identity store API cannot set
# them (only SCIM does) and moto's users have no such field, so the middleware adds them to
# DescribeUser and ListUsers answers. Empty unless a seeded spec gave some.
_EXTERNAL_IDS: dict[str, list[dict]] = {}


class _TokenBucket:
    """`rate` tokens a second up to `capacity`; a request takes one or is throttled."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate, self.capacity, self.tokens, self.at = rate, capacity, capacity, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _request_service(environ: dict) -> str | None:
    match = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else None


def _request_operation(environ: dict) -> str:
    """X-Amz-Target's operation, else the query protocol's Action (URL or form body), else the method."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    from urllib.parse import parse_qs

    action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    length = int(environ.get("CONTENT_LENGTH") or 0)  # a body without a length (chunked) is left alone
    if not action and length and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        import io

        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return action[0] if action else environ.get("REQUEST_METHOD", "?")


def _throttle_answer(environ: dict, service: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """How the service says "slow down": AWS JSON's ThrottlingException, S3's SlowDown, or the
    query protocol's Throttling."""
    import uuid

    request_id = str(uuid.uuid4())
    if service == "s3":
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce "
                f"your request rate.</Message><RequestId>{request_id}</RequestId></Error>").encode()
        return "503 Service Unavailable", [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)], body
    if environ.get("HTTP_X_AMZ_TARGET") or "json" in environ.get("CONTENT_TYPE", ""):
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        return "400 Bad Request", [("Content-Type", environ.get("CONTENT_TYPE") or _JSON_11),
                                   ("x-amzn-ErrorType", "ThrottlingException"), ("x-amzn-RequestId", request_id)], body
    body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    return "400 Bad Request", [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body


class RigKnobs:
    """The WSGI middleware: latency and rate limits for chosen services, counts for all, the
    /_rig/ admin routes, and seeded users' ExternalIds in identity store answers."""

    def __init__(self, app) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.seed_lock = threading.Lock()
        self.config = dict(RIG_DEFAULT_CONFIG)
        self.buckets: dict[str, _TokenBucket] = {}
        self.stats: dict = {}
        self.unsigned = 0
        self.since = time.monotonic()

    def __call__(self, environ: dict, start_response):
        if environ.get("PATH_INFO", "").startswith(RIG_ADMIN_PREFIX):
            return self.admin(environ, start_response)
        service = _request_service(environ)
        if service is None:
            with self.lock:
                self.unsigned += 1
            return self.app(environ, start_response)
        operation = _request_operation(environ)
        arrived = time.monotonic()
        with self.lock:
            config = self.config
            knobs_on = service in config["services"]
            admitted = True
            if knobs_on and config["ratePerSecond"] > 0:
                key = "shared" if config["shared"] else service
                bucket = self.buckets.get(key)
                if bucket is None:
                    capacity = config["burst"] if config["burst"] is not None else max(1.0, config["ratePerSecond"])
                    bucket = self.buckets[key] = _TokenBucket(config["ratePerSecond"], capacity)
                admitted = bucket.take()
            counts = self.stats.setdefault(service, {"requests": 0, "throttled": 0, "busy": 0.0, "operations": {}})
            per_operation = counts["operations"].setdefault(
                operation, {"requests": 0, "throttled": 0, "busy": 0.0, "first": arrived, "last": arrived})
            per_operation["last"] = arrived
            for entry in (counts, per_operation):
                entry["requests"] += 1
                entry["throttled"] += not admitted
        if knobs_on and config["latencyMs"] > 0:
            time.sleep(config["latencyMs"] / 1000)
        if not admitted:
            status, headers, body = _throttle_answer(environ, service)
            start_response(status, headers + [("Content-Length", str(len(body)))])
            return [body]
        started = time.monotonic()
        try:
            if _EXTERNAL_IDS and service == "identitystore" and operation in ("DescribeUser", "ListUsers"):
                return self.with_external_ids(environ, start_response, operation)
            return self.app(environ, start_response)
        finally:
            busy = time.monotonic() - started  # moto's own time on the request (its answer is built by now)
            with self.lock:
                counts["busy"] += busy
                per_operation["busy"] += busy

    def with_external_ids(self, environ: dict, start_response, operation: str):
        """moto's answer with the seeded ExternalIds put in, as AWS answers SCIM users."""
        captured = {}

        def capture(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)
            return lambda data: None

        chunks = self.app(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        if captured.get("status", "").startswith("200"):
            answer = json.loads(body)
            users = answer.get("Users", []) if operation == "ListUsers" else [answer]
            for user in users:
                if user.get("UserId") in _EXTERNAL_IDS:
                    user["ExternalIds"] = _EXTERNAL_IDS[user["UserId"]]
            body = json.dumps(answer).encode()
        headers = [(k, v) for k, v in captured.get("headers", []) if k.lower() != "content-length"]
        start_response(captured.get("status", "500 Internal Server Error"), headers + [("Content-Length", str(len(body)))])
        return [body]

    # ---- admin

    def admin(self, environ: dict, start_response):
        def answer(status: str, payload) -> list[bytes]:
            body = json.dumps(payload).encode()
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]

        try:
            if not ipaddress.ip_address(environ.get("REMOTE_ADDR", "")).is_loopback:
                return answer("403 Forbidden", {"__type": "AccessDenied", "message": "loopback clients only"})
        except ValueError:
            return answer("403 Forbidden", {"__type": "AccessDenied", "message": "loopback clients only"})
        method, route = environ.get("REQUEST_METHOD"), environ["PATH_INFO"][len(RIG_ADMIN_PREFIX):].strip("/")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            data = json.loads(environ["wsgi.input"].read(length)) if length else {}
            if route == "config" and method == "GET":
                return answer("200 OK", self.config_view())
            if route == "config" and method == "POST":
                return answer("200 OK", self.set_config(data))
            if route == "config" and method == "DELETE":
                with self.lock:
                    self.config, self.buckets = dict(RIG_DEFAULT_CONFIG), {}
                return answer("200 OK", self.config_view())
            if route == "stats" and method == "GET":
                return answer("200 OK", self.stats_view())
            if route == "stats" and method == "DELETE":
                with self.lock:
                    self.stats, self.unsigned, self.since = {}, 0, time.monotonic()
                return answer("200 OK", self.stats_view())
            if route == "organisation" and method == "POST":
                with self.seed_lock:
                    return answer("200 OK", seed_organisation(data))
        except (ValueError, KeyError, TypeError) as error:
            return answer("400 Bad Request", {"__type": "ValidationException", "message": f"{type(error).__name__}: {error}"})
        return answer("404 Not Found", {"__type": "NotFound", "message": f"no rig route {method} /_rig/{route}"})

    def config_view(self) -> dict:
        with self.lock:
            return {**self.config, "services": list(self.config["services"])}

    def set_config(self, data: dict) -> dict:
        if not isinstance(data, dict) or not set(data) <= set(RIG_DEFAULT_CONFIG):
            raise ValueError(f"expected some of {sorted(RIG_DEFAULT_CONFIG)}")
        for name in ("latencyMs", "ratePerSecond"):
            if name in data and (isinstance(data[name], bool) or not isinstance(data[name], (int, float)) or data[name] < 0):
                raise ValueError(f"{name}: a number >= 0")
        if data.get("burst") is not None and (isinstance(data["burst"], bool) or not isinstance(data["burst"], (int, float))
                                               or data["burst"] < 1):
            raise ValueError("burst: a number >= 1, or null")
        if "services" in data and (not isinstance(data["services"], list) or not all(isinstance(s, str) for s in data["services"])):
            raise ValueError("services: a list of SigV4 service names (sso, identitystore, organizations, ...)")
        if "shared" in data and not isinstance(data["shared"], bool):
            raise ValueError("shared: true or false")
        with self.lock:
            self.config = {**self.config, **data}
            self.buckets = {}  # a new limit starts full
        return self.config_view()

    def stats_view(self) -> dict:
        """Per service and operation: requests (throttled ones included), throttled, busyMs (moto's
        time on them, the knobs' latency left out), and for each operation firstMs and lastMs, when
        the first and the last arrived, counted from the last reset."""
        def ms(seconds: float) -> float:
            return round(seconds * 1000, 1)

        with self.lock:
            services = {name: {"requests": s["requests"], "throttled": s["throttled"], "busyMs": ms(s["busy"]),
                               "operations": {op: {"requests": c["requests"], "throttled": c["throttled"],
                                                   "busyMs": ms(c["busy"]), "firstMs": ms(c["first"] - self.since),
                                                   "lastMs": ms(c["last"] - self.since)}
                                              for op, c in sorted(s["operations"].items())}}
                        for name, s in sorted(self.stats.items())}
            return {"services": services, "unsigned": self.unsigned,
                    "requests": sum(s["requests"] for s in services.values()),
                    "throttled": sum(s["throttled"] for s in services.values()),
                    "sinceResetMs": ms(time.monotonic() - self.since)}


def seed_organisation(data: dict) -> dict:
    """POST /_rig/organisation: an organisation.py spec built directly in moto's backends, with the
    model methods moto's own request handlers call and the values organisation.py's request
    builders give them, so that every list and describe answers as after the same boto3 calls
    (Tests/rig/test_organisation.py checks it). Returns the ids, as organisation.seed_with_boto3."""
    import organisation
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.identitystore.models import identitystore_backends
    from moto.organizations.exceptions import AlreadyInOrganizationException
    from moto.organizations.models import organizations_backends
    from moto.ssoadmin.models import ssoadmin_backends
    from moto.utilities.utils import get_partition

    started = time.monotonic()
    if "spec" in data:
        spec = data["spec"]
    elif "generate" in data:
        spec = organisation.generate(**data["generate"])
    else:
        raise ValueError('expected {"spec": {...}} or {"generate": {"users": N, ...}}')
    organisation.validate(spec)
    account_id, region = data.get("accountId") or DEFAULT_ACCOUNT_ID, data.get("region") or "us-east-1"
    sso = ssoadmin_backends[account_id][region]
    store = identitystore_backends[account_id][region]
    organizations = organizations_backends[account_id][get_partition(region)]
    instance = sso.instances[0]
    instance_arn, store_id = instance.instance_arn, instance.identity_store_id
    ids = {"instanceArn": instance_arn, "identityStoreId": store_id,
           "users": {}, "groups": {}, "accounts": {}, "permissionSets": {}}

    if organizations.org is None:
        try:
            organizations.create_organization(region=region, FeatureSet="ALL")
        except AlreadyInOrganizationException:
            pass
    for user in spec["users"]:
        request = organisation.create_user_request(user, store_id)
        user_id, _ = store.create_user(*(request.get(name) for name in (
            "IdentityStoreId", "UserName", "Name", "DisplayName", "NickName", "ProfileUrl", "Emails", "Addresses",
            "PhoneNumbers", "UserType", "Title", "PreferredLanguage", "Locale", "Timezone")))
        ids["users"][user["key"]] = user_id
        if user.get("externalIds"):
            _EXTERNAL_IDS[user_id] = [dict(one) for one in user["externalIds"]]
    for group in spec["groups"]:
        request = organisation.create_group_request(group, store_id)
        group_id, _ = store.create_group(store_id, request["DisplayName"], request.get("Description"))
        ids["groups"][group["key"]] = group_id
        for member in group["members"]:
            store.create_group_membership(store_id, group_id, {"UserId": ids["users"][member]})
    for account in spec["accounts"]:
        status = organizations.create_account(**organisation.create_account_request(account))
        ids["accounts"][account["key"]] = status["CreateAccountStatus"]["AccountId"]
    for permission_set in spec["permissionSets"]:
        request = organisation.create_permission_set_request(permission_set, instance_arn)
        made = sso.create_permission_set(
            name=request["Name"], description=request.get("Description"), instance_arn=instance_arn,
            session_duration=organisation.SESSION_DURATION_DEFAULT, relay_state=None, tags=None)
        ids["permissionSets"][permission_set["key"]] = made["PermissionSetArn"]
    for assignment in spec["assignments"]:
        request = organisation.create_account_assignment_request(assignment, ids)
        sso.create_account_assignment(
            instance_arn=request["InstanceArn"], target_id=request["TargetId"], target_type=request["TargetType"],
            permission_set_arn=request["PermissionSetArn"], principal_type=request["PrincipalType"],
            principal_id=request["PrincipalId"])
    for pair in spec["provisionedOnly"]:
        request = organisation.provision_permission_set_request(pair, ids)
        # What ProvisionPermissionSet does here: moto's own call, then the launcher's record of the target.
        sso.provision_permission_set(instance_arn=request["InstanceArn"], permission_set_arn=request["PermissionSetArn"])
        _provision_targets(sso).add((request["InstanceArn"], request["PermissionSetArn"], request["TargetId"]))
    return {**ids, "accountId": account_id, "summary": organisation.summary(spec),
            "seconds": round(time.monotonic() - started, 3)}


def _loopback(host: str) -> str:
    """Only a loopback address: moto answers anyone who can reach it, including /moto-api/reset."""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"not a loopback IP address: {host!r}")


def _require_auth_limit() -> None:
    """The unauthenticated setup calls allowed; without it moto would never check a request."""
    if not os.environ.get("INITIAL_NO_AUTH_ACTION_COUNT", "").isdigit():
        raise SystemExit("INITIAL_NO_AUTH_ACTION_COUNT must be set to a whole number: the rig keeps moto's auth on")


def _write_port(port_file: Path, port: int) -> None:
    """Written once the socket listens, by rename, so a reader never sees a partial file."""
    partial = port_file.with_name(port_file.name + ".partial")
    partial.write_text(str(port))
    partial.replace(port_file)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", type=_loopback, default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (see --port-file)")
    parser.add_argument("--port-file", type=Path, help="where to write the port once listening")
    args = parser.parse_args(argv)
    _require_auth_limit()
    apply_patches()

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    server = make_server(args.host, args.port, RigKnobs(DomainDispatcherApplication(create_backend_app)), threaded=True)
    if args.port_file:
        _write_port(args.port_file, server.server_port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"moto {MOTO_VERSION} (patched) on {args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
