"""The shipped package over HTTPS, as AWS is reached: registry-writer's zip, with the
runtime-libs layer's libcurl on the library path as Lambda puts it, against the rig behind a TLS
front whose certificate comes from a throwaway authority. The peer must be verified: trusted
through AWS_CA_BUNDLE, refused without it.
"""
from __future__ import annotations

import pytest

from conftest import (
    ROOT,
    create_store_user,
    environment_for,
    eventbridge,
    new_table,
    table_items,
    utc_now,
)

from rig import cloudtrail_events as ct
from rig import deploy
from tls_terminator import TLSTerminator, make_authority  # noqa: E402


@pytest.fixture(scope="module")
def packages():
    """The zips scripts/package wrote (FUNCTION_ZIP_DIR, else .build/lambda); scripts/test packages
    before it runs these tests, so a missing zip is a failure, not a skip."""
    return deploy.shipped_packages(deploy.ZIP_DIR or ROOT / ".build" / "lambda")


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    return make_authority(tmp_path_factory.mktemp("authority"))


@pytest.fixture
def front(state, authority):
    _, certificate, key = authority
    with TLSTerminator(state["moto"]["url"], certificate, key) as terminator:
        yield terminator


def writer_case(rig_path, state, sso, front, **variables):
    """A new store user, its CreateUser event, an empty table, and the writer's environment with
    every AWS endpoint on the TLS front."""
    store = sso["identityStoreId"]
    user = create_store_user(state, store, "tls")
    table = new_table(rig_path)
    environment = environment_for(state, sso, rig_path, "registry-writer", table, **variables)
    environment["AWS_ENDPOINT_URL"] = front.url
    record = ct.create_user("identitystore", user["userId"], user["userName"], utc_now(), identity_store_id=store)
    return user["userId"], table, environment, eventbridge(record)


def test_the_shipped_writer_speaks_https_to_a_peer_it_trusts(rig_path, state, sso, front, authority, packages):
    user_id, table, environment, event = writer_case(rig_path, state, sso, front, AWS_CA_BUNDLE=str(authority[0]))

    result = packages.run("registry-writer", [event], environment)

    assert result.init_error is None, result.init_error
    assert result.invocations[0].status == "success", result.invocations[0].error
    assert list(table_items(state, table)) == [user_id]
    assert front.handshakes >= 1 and front.failed_handshakes == 0


def test_the_shipped_writer_refuses_a_peer_it_cannot_verify(rig_path, state, sso, front, packages):
    user_id, table, environment, event = writer_case(rig_path, state, sso, front)

    result = packages.run("registry-writer", [event], environment)

    assert result.init_error is None, result.init_error
    invocation = result.invocations[0]
    assert invocation.status == "error"
    assert "certificate" in invocation.error["errorMessage"].lower(), invocation.error
    assert front.handshakes == 0 and front.failed_handshakes >= 1
    assert table_items(state, table) == {}


def test_an_unreadable_ca_bundle_is_an_init_error(rig_path, state, sso, front, tmp_path, packages):
    missing = tmp_path / "no-such-bundle.pem"
    _, _, environment, event = writer_case(rig_path, state, sso, front, AWS_CA_BUNDLE=str(missing))

    result = packages.run("registry-writer", [event], environment)

    assert result.init_error is not None
    assert f"AWS_CA_BUNDLE names {missing}" in result.init_error["errorMessage"]
