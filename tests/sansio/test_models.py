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
from stytch_scim_async._sansio.endpoints import ENDPOINTS
from stytch_scim_async._sansio.replies import parse_response

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


LOST = scim.SCIMConnection(
    "organization-test-lost-7", "scim-connection-test-lost-7", "active", "d", "okta", "https://x"
)


@pytest.mark.parametrize("pending", [None, "pending-secret-token-31337"])
def test_token_lost_error_names_the_connection_never_the_token(pending: str | None) -> None:
    # The message is what an operator acts on: which connection to rotate, in which org.
    error = scim.TokenLostError(LOST, attempts=2, next_bearer_token=pending)
    message = str(error)
    assert "connection scim-connection-test-lost-7 " in message
    assert "organization organization-test-lost-7 " in message
    assert "after 2 attempt(s)" in message
    assert error.attempts == 2
    assert error.next_bearer_token == pending
    if pending is not None:
        assert "next_bearer_token" in message  # says where the token is ...
        for text in (message, repr(error), str(error.args)):
            assert pending not in text  # ... never what it is


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
    endpoint = ENDPOINTS[operation]
    raw = json.dumps(body).encode()
    try:
        result = parse_response(endpoint, 200, {}, raw, NOW)
    except scim.ResponseDecodeError as error:
        assert error.status_code == 200
        assert len(error.body_excerpt) <= 200
    else:
        assert isinstance(result, endpoint.response)
        assert type(result.status_code) is int


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=300), status=st.integers(min_value=100, max_value=599))
def test_any_bytes_and_status_give_a_model_or_a_library_error(raw: bytes, status: int) -> None:
    headers = {"Retry-After": "x"}
    if 200 <= status < 300:
        try:
            result = parse_response(ENDPOINTS["get"], status, headers, raw, NOW)
        except scim.ResponseDecodeError as error:
            assert error.status_code == status
            assert "\n" not in str(error)
        else:
            assert isinstance(result, scim.GetConnectionResponse)
        return
    with pytest.raises(scim.APIStatusError) as info:
        parse_response(ENDPOINTS["get"], status, headers, raw, NOW)
    assert info.value.status_code == status
    assert str(info.value).startswith(f"HTTP {status}")
    assert "\n" not in str(info.value)


CONNECTION = {
    "organization_id": "organization-test-m",
    "connection_id": "scim-connection-test-m",
    "status": "active",
    "display_name": "Okta",
    "identity_provider": "okta",
    "base_url": "https://x",
    "bearer_token": "token-test-m",
    "bearer_token_expires_at": "2027-01-01T00:00:00Z",
}


def test_a_well_formed_create_body_decodes_field_for_field() -> None:
    body = json.dumps({"request_id": "r-1", "status_code": 200, "connection": CONNECTION})
    result = parse_response(ENDPOINTS["create"], 200, {}, body.encode(), NOW)
    assert isinstance(result, scim.CreateConnectionResponse)
    assert result.request_id == "r-1"
    assert result.connection.connection_id == "scim-connection-test-m"
    assert result.connection.bearer_token == "token-test-m"
    assert result.connection.bearer_token_expires_at == datetime(2027, 1, 1, tzinfo=UTC)
    assert not result.recovered


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"connection_id": None}, "required field missing @ $.connection.connection_id"),
        ({"status": 5}, "expected str @ $.connection.status"),
        ({"bearer_token_expires_at": 17}, "$.connection.bearer_token_expires_at"),
    ],
)
def test_a_body_that_does_not_fit_names_the_field(change: dict[str, object], says: str) -> None:
    connection = {k: v for k, v in {**CONNECTION, **change}.items() if v is not None}
    body = json.dumps({"request_id": "r-2", "connection": connection}).encode()
    with pytest.raises(scim.ResponseDecodeError) as info:
        parse_response(ENDPOINTS["create"], 200, {"X-Request-Id": "ignored"}, body, NOW)
    assert says in str(info.value)
    assert info.value.request_id == "r-2"
    assert "token-test-m" not in str(info.value)  # the excerpt is redacted
