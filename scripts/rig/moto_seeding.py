"""What the rig builds in moto's backends in-process, where the API cannot or would take too
long: a whole organisation at once (POST /_rig/organisation) and a user's status (POST
/_rig/user-status)."""
from __future__ import annotations

import time

from rig.moto_corrections import record_provision_target, set_user_extras

USER_STATUSES = ("ENABLED", "DISABLED")


def set_user_status(data: dict) -> dict:
    """POST /_rig/user-status {"identityStoreId", "userId", "status", "accountId"?, "region"?}:
    what an administrator's disabling (or re-enabling) of a user leaves, which the Identity Store
    API of moto cannot do. Answers the user's id and new status."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.core.exceptions import JsonRESTError
    from moto.identitystore.models import identitystore_backends

    if data.get("status") not in USER_STATUSES:
        raise ValueError(f"status: one of {USER_STATUSES}")
    store = identitystore_backends[data.get("accountId") or DEFAULT_ACCOUNT_ID][data.get("region") or "us-east-1"]
    try:
        set_user_extras(store, data["identityStoreId"], data["userId"], UserStatus=data["status"])
    except JsonRESTError as error:
        raise ValueError(f"{error.error_type}: {error.message}") from error
    return {"userId": data["userId"], "status": data["status"]}


def seed_organisation(data: dict) -> dict:
    """POST /_rig/organisation: an organisation.py spec built directly in moto's backends, with the
    model methods moto's own request handlers call and the values organisation.py's request
    builders give them, so that every list and describe answers as after the same boto3 calls
    (Tests/rig/test_organisation.py checks it). Returns the ids, as organisation.seed_with_boto3."""
    from rig import organisation
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
            set_user_extras(store, store_id, user_id, ExternalIds=[dict(one) for one in user["externalIds"]])
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
        record_provision_target(sso, request["InstanceArn"], request["PermissionSetArn"], request["TargetId"])
    return {**ids, "accountId": account_id, "summary": organisation.summary(spec),
            "seconds": round(time.monotonic() - started, 3)}
