"""A bad configuration stops each built function in its init phase (docs/contract.md, "Settings"): the
error goes to /runtime/init/error naming the setting, no event is fetched, and the process exits
non-zero. No AWS call is made, so no rig is needed."""
from __future__ import annotations

import pytest

from rig import deploy

STORE = {"IDENTITY_STORE_ID": "d-1234567890"}
REGISTRY = {"REGISTRY_TABLE": "registry", **STORE}
MONITOR = {**REGISTRY, "ACTIVITY_TABLE": "activity", "ALERT_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/alerts"}
# The variables docs/contract.md's settings table gives each function without a default.
REQUIRED = {
    "registry-writer": REGISTRY,
    "registry-cleaner": REGISTRY,
    "password-expiry-monitor": MONITOR,
    "inactivity-monitor": MONITOR,
    "credential-report": {**STORE, "SSO_INSTANCE_ARN": "arn:aws:sso:::instance/ssoins-1234567890abcdef",
                          "REPORT_BUCKET": "reports", "ACTIVITY_TABLE": "activity"},
}
BASE = {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDINITERRORTEST000", "AWS_SECRET_ACCESS_KEY": "never-used",
        "AWS_LAMBDA_LOG_FORMAT": "JSON"}
CASES = [(product, name, None) for product, required in REQUIRED.items() for name in required] + [
    (product, "IDENTITY_STORE_ID", "store-1") for product in REQUIRED]


@pytest.mark.parametrize(("product", "variable", "value"), CASES,
                         ids=[f"{p}-{v}-{'malformed' if x else 'missing'}" for p, v, x in CASES])
def test_a_missing_or_malformed_setting_fails_the_init_phase(product, variable, value):
    environment = {**BASE, **REQUIRED[product]}
    if value is None:
        del environment[variable]
    else:
        environment[variable] = value

    result = deploy.run_function(product, [{}], environment, max_wall_seconds=30)

    assert result.init_error is not None, f"{product} started without {variable}"
    assert variable in result.init_error["errorMessage"]
    assert result.next_requests == 0, "no event is fetched after an init error"
    assert result.invocations[0].status == "pending"
    assert result.exit_code not in (0, None), f"exit code {result.exit_code}"
