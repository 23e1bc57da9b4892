"""What tests set up in the rig, run as rig-admin: `python -m rig call <fixture> --args '<json>'`.

Each fixture takes rig.FixtureContext first, then JSON keyword arguments, and returns JSON.
"""
from __future__ import annotations

import json

from rig import organisation


def create_function_user(rig, name: str, policy: dict | str) -> dict:
    """An IAM user holding `policy` (a policy document, as a JSON object or text) inline, with an
    access key that the CloudTrail fake accepts too, for the CloudTrail actions the policy allows:
    a function's credentials, least privilege."""
    iam = rig.client("iam")
    document = policy if isinstance(policy, str) else json.dumps(policy)
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=document)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    rig.add_cloudtrail_key(key["AccessKeyId"], key["SecretAccessKey"], allowed_actions(json.loads(document)))
    return {"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"], "arn": arn}


def allowed_actions(policy: dict) -> list[str]:
    """The action patterns of `policy`'s Allow statements (the CloudTrail fake matches its own)."""
    statements = policy.get("Statement", [])
    allowed = []
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", []) if statement.get("Effect") == "Allow" else []
        allowed += actions if isinstance(actions, list) else [actions]
    return allowed


def identity_store(rig) -> dict:
    """moto's IAM Identity Center instance: moto makes one per account and region by itself,
    and serves its identity store id to the identitystore API."""
    instance = rig.client("sso-admin").list_instances()["Instances"][0]
    return {"instanceArn": instance["InstanceArn"], "identityStoreId": instance["IdentityStoreId"]}


def create_identity_store_users(rig, identity_store_id: str, count: int, prefix: str) -> list[dict]:
    """`count` users named `<prefix>0001`..., with the name, display name and email a console user has."""
    identitystore = rig.client("identitystore")
    users = []
    for number in range(1, count + 1):
        user = organisation.person(organisation.user_key(number), f"{prefix}{number:04d}", "Rig", f"{prefix}{number:04d}")
        user_id = identitystore.create_user(**organisation.create_user_request(user, identity_store_id))["UserId"]
        users.append({"userId": user_id, "userName": user["userName"]})
    return users


def create_table(rig, name: str, sort_key: str | None = None) -> dict:
    """A table shaped as the registry: partition key UserId (S), on-demand; with `sort_key`
    (the activity ledger's Scope) also that sort key (S)."""
    keys = [{"AttributeName": "UserId", "KeyType": "HASH"}] + ([{"AttributeName": sort_key, "KeyType": "RANGE"}] if sort_key else [])
    table = rig.client("dynamodb").create_table(
        TableName=name,
        KeySchema=keys,
        AttributeDefinitions=[{"AttributeName": key["AttributeName"], "AttributeType": "S"} for key in keys],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]
    return {"tableName": table["TableName"], "tableArn": table["TableArn"]}


def aws(rig, service: str, operation: str, params: dict | None = None) -> dict:
    """Any boto3 operation as rig-admin (snake_case name, e.g. `create_queue`): for seeding what no
    other fixture covers. Dates in the answer come back as ISO 8601 text."""
    answer = getattr(rig.client(service), operation)(**(params or {}))
    answer.pop("ResponseMetadata", None)
    return json.loads(json.dumps(answer, default=lambda value: value.isoformat() if hasattr(value, "isoformat") else str(value)))


def aws_many(rig, service: str, operation: str, params: list[dict]) -> list[dict]:
    """`aws` once for each parameter set, in one process: seeding hundreds of items stays fast."""
    return [aws(rig, service, operation, one) for one in params]


def cloudtrail_fake(rig, method: str, route: str, body=None):
    """The CloudTrail fake's admin API: `POST events` with records, `DELETE events`, `POST config`,
    `GET stats` (see cloudtrail_fake.py)."""
    return rig.cloudtrail_admin(method, route, body)


FIXTURES = {
    fixture.__name__: fixture
    for fixture in (create_function_user, identity_store, create_identity_store_users, create_table, aws, aws_many, cloudtrail_fake)
}


# --- the scale knobs of rig_knobs.py (scripts/bench) ------------------------------------------


def _rig_route(rig, method: str, route: str, body=None):
    """One call of the rig's loopback admin routes under /_rig/ (rig_knobs.py); its JSON answer."""
    import urllib.request

    request = urllib.request.Request(
        f"{rig.state['moto']['url']}/_rig/{route}", method=method,
        data=None if body is None else json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


def rig_config(rig, config: dict | None = None, reset: bool = False) -> dict:
    """moto's latency and rate limits: `{"latencyMs", "ratePerSecond", "burst", "services",
    "shared"}` merged into the current ones (reset: back to off first); returns them."""
    if reset:
        _rig_route(rig, "DELETE", "config")
    return _rig_route(rig, "POST", "config", config or {})


def rig_stats(rig, reset: bool = False) -> dict:
    """Requests and throttles per service and operation since the last reset (reset: zero them)."""
    return _rig_route(rig, "DELETE" if reset else "GET", "stats")


def seed_organisation(rig, spec: dict | None = None, generate: dict | None = None) -> dict:
    """An organisation.py spec (or `generate`'s arguments for one) built in moto in-process;
    returns the ids by spec key, the instance ARN and identity store id, and a summary."""
    return _rig_route(rig, "POST", "organisation", {"spec": spec} if spec is not None else {"generate": generate or {}})


def set_user_status(rig, identityStoreId: str, userId: str, status: str) -> dict:
    """Disables (status DISABLED) or re-enables (ENABLED) an identity store user: rig-only, since
    moto's Identity Store API cannot."""
    return _rig_route(rig, "POST", "user-status", {"identityStoreId": identityStoreId, "userId": userId, "status": status})


FIXTURES.update({fixture.__name__: fixture for fixture in (rig_config, rig_stats, seed_organisation, set_user_status)})
