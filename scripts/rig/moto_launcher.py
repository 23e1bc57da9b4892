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
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import sys
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

    server = make_server(args.host, args.port, DomainDispatcherApplication(create_backend_app), threaded=True)
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
