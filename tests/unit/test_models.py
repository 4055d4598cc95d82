"""Models: redaction, the open IdP set, and any JSON body yields a model or a library error."""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from datetime import UTC, datetime

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

import stytch_scim_async as scim
from stytch_scim_async._endpoints import ENDPOINTS
from stytch_scim_async._sansio import parse_response

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_tokens_are_redacted_everywhere() -> None:
    conn = scim.SCIMConnectionWithToken(
        organization_id="o",
        connection_id="c",
        status="active",
        display_name="d",
        identity_provider="okta",
        base_url="https://x",
        bearer_token="supersecrettoken",
    )
    assert "supersecrettoken" not in repr(conn)
    assert "supersecrettoken" not in str(conn)
    assert "<redacted>" in repr(conn)
    error = scim.TokenLostError(
        scim.SCIMConnection("o", "c", "active", "d", "okta", "https://x"), attempts=2
    )
    assert "c" in str(error)
    assert error.attempts == 2


ERRORS = [
    scim.BadRequestError(status_code=400, error_type="x", request_id="r", attempts=2),
    scim.RateLimitError(status_code=429, retry_after=3.0),
    scim.InvalidRequestError("limit", "bad"),
    scim.ResponseDecodeError("not JSON", status_code=200, body_excerpt="<html>"),
    scim.ConnectError("get: could not connect", attempts=3),
    scim.TokenLostError(
        scim.SCIMConnection("o", "c", "active", "d", "okta", "https://x"),
        next_bearer_token="pending-token",
    ),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_survive_pickling_and_copying(error: scim.StytchSCIMError) -> None:
    # Errors cross process pools (and get copied by frameworks) with every attribute.
    for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error)):  # noqa: S301
        assert type(clone) is type(error)
        assert str(clone) == str(error)
        assert vars(clone) == vars(error)


def test_identity_provider_is_a_str_enum() -> None:
    assert str(scim.IdentityProvider.MICROSOFT_ENTRA) == "microsoft-entra"
    assert isinstance(scim.IdentityProvider.OKTA, str)


def test_importing_the_package_stays_light() -> None:
    code = (
        "import sys, stytch_scim_async; "
        "print(','.join(m for m in ('pydantic', 'requests', 'aiohttp', 'fastapi', 'click', "
        "'rich', 'tenacity') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)

CONNECTION_KEYS = st.sampled_from(
    [
        "organization_id",
        "connection_id",
        "status",
        "display_name",
        "identity_provider",
        "base_url",
        "bearer_token",
        "bearer_token_expires_at",
        "next_bearer_token",
        "scim_group_implicit_role_assignments",
    ]
)
SHAPED = st.fixed_dictionaries(
    {"request_id": JSON, "status_code": JSON, "connection": st.dictionaries(CONNECTION_KEYS, JSON)}
)


@settings(max_examples=300, deadline=None)
@given(body=JSON | SHAPED, operation=st.sampled_from(sorted(ENDPOINTS)))
def test_any_json_body_gives_a_model_or_a_library_error(body: object, operation: str) -> None:
    raw = json.dumps(body).encode()
    try:
        parse_response(ENDPOINTS[operation], 200, {}, raw, NOW)
    except scim.ResponseDecodeError as error:
        assert error.status_code == 200
        assert len(error.body_excerpt) <= 200


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=300), status=st.integers(min_value=100, max_value=599))
def test_any_bytes_and_status_give_a_model_or_a_library_error(raw: bytes, status: int) -> None:
    try:
        parse_response(ENDPOINTS["get"], status, {"Retry-After": "x"}, raw, NOW)
    except scim.StytchSCIMError as error:
        assert "\n" not in str(error)
