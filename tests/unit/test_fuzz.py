"""Hypothesis over call arguments and response headers: only documented errors come out,
and every request path is well-formed."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

import stytch_scim_async as scim
from stytch_scim_async._sansio import Request, error_from_response, retry_after

NOW = datetime(2026, 11, 26, tzinfo=UTC)
CONNECTION = (
    '{"organization_id": "o", "connection_id": "c", "status": "active", "display_name": "d",'
    ' "identity_provider": "okta", "base_url": "https://x"}'
)
#: One body that decodes as every operation's envelope (unknown keys are ignored).
OK = (
    '{"request_id": "r", "status_code": 200, "connection_id": "c", "scim_groups": [],'
    f' "connection": {CONNECTION}}}'
).encode()


class RecordingTransport:
    """Stands in for the network: records each request and answers an empty 200."""

    def __init__(self) -> None:
        self.requests: list[Request] = []

    async def send(
        self, request: Request, ends: float | None = None
    ) -> tuple[int, Mapping[str, str], bytes]:
        self.requests.append(request)
        return 200, {}, OK


TEXT = st.text(max_size=40) | st.text(min_size=1000, max_size=3000, alphabet="ab/.%?#\r\n")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(org=TEXT, connection_id=TEXT, name=st.none() | TEXT, idp=st.none() | TEXT)
async def test_any_arguments_give_a_well_formed_request_or_invalid_request_error(
    org: str, connection_id: str, name: str | None, idp: str | None
) -> None:
    client = scim.SCIMClient(
        "project-test-1", "s", base_url="https://test.stytch.com", retry=scim.RetryPolicy.disabled()
    )
    transport = RecordingTransport()
    client._transport.send = transport.send  # type: ignore[method-assign]
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: client.get_connection(org),
        lambda: client.update_connection(
            org, connection_id, display_name=name, identity_provider=idp
        ),
        lambda: client.rotate_cancel(org, connection_id),
        lambda: client.delete_connection(org, connection_id),
        lambda: client.get_groups(org, connection_id, cursor=name),
    ]
    for call in calls:
        try:
            await call()
        except scim.InvalidRequestError as error:
            assert error.argument in (
                "organization_id",
                "connection_id",
                "identity_provider",
                "display_name",
            )
    for request in transport.requests:
        parts = urlsplit(request.url)
        segments = parts.path.split("/")
        assert parts.netloc == "test.stytch.com"
        assert segments[:4] == ["", "v1", "b2b", "scim"]
        assert unquote(segments[4]) == org
        assert parts.fragment == ""
        if request.operation == "get_groups" and name:
            assert parse_qs(parts.query) == {"cursor": [name]}
        else:
            assert parts.query == ""
        assert all(c not in request.url for c in "\r\n ")
    await client.aclose()


HEADER = (
    st.text(max_size=30)
    | st.sampled_from(["nan", "inf", "-inf", "-1", "1e309", "0", "1.5", " 3 ", "１"])
    | st.integers(min_value=-(10**12), max_value=10**12).map(str)
    | st.datetimes(timezones=st.just(UTC)).map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT"))
)


@settings(max_examples=500, deadline=None)
@given(value=HEADER, status=st.integers(min_value=300, max_value=599))
def test_retry_after_garbage_never_escapes(value: str, status: int) -> None:
    seconds = retry_after({"Retry-After": value}, NOW)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)
    error = error_from_response(status, {"Retry-After": value}, b"", NOW)
    assert isinstance(error, scim.APIStatusError)
    if isinstance(error, scim.RateLimitError):
        assert error.retry_after == seconds
        delay = scim.RetryPolicy().delay(1, error)
        assert delay is None or (math.isfinite(delay) and 0 <= delay <= 61.0)
