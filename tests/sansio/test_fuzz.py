"""Hypothesis over call arguments and response headers: only documented errors come out,
and every request path is well-formed."""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

import stytch_scim_async as scim
from stytch_scim_async._sansio.endpoints import ENDPOINTS
from stytch_scim_async._sansio.replies import error_from_response, retry_after
from stytch_scim_async._sansio.wire import Request

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
        self,
        request: Request,
        ends: float | None = None,
        attempt_timeout: scim.Timeout | None = None,
    ) -> tuple[int, Mapping[str, str], bytes]:
        self.requests.append(request)
        return 200, {}, OK


PLAIN = st.from_regex(r"[A-Za-z0-9_-]{1,30}", fullmatch=True)
ODD = st.sampled_from(["", " ", ".", "..", "a/b", "a b", "é", "x\ud800", "x\ny", "a" * 1025])
TEXT = (
    PLAIN
    | ODD
    | st.text(max_size=40)
    | st.text(min_size=1000, max_size=3000, alphabet="ab/.%?#\r\n")
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def id_ok(value: str) -> bool:
    """The documented rule for ids (written out again here, not imported)."""
    return (
        bool(value.strip())
        and not _CONTROL.search(value)
        and value not in (".", "..")
        and not _SURROGATE.search(value)
        and len(value) <= 1024
    )


def text_ok(value: str | None) -> bool:
    return value is None or not _SURROGATE.search(value)


def idp_ok(value: str | None) -> bool:
    return value is None or (bool(value.strip()) and text_ok(value) and not _CONTROL.search(value))


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
    # Each call, with the arguments it checks and whether each is valid.
    calls: list[tuple[str, Callable[[], Awaitable[object]], dict[str, bool]]] = [
        ("get", lambda: client.get_connection(org), {"organization_id": id_ok(org)}),
        (
            "update",
            lambda: client.update_connection(
                org, connection_id, display_name=name, identity_provider=idp
            ),
            {
                "organization_id": id_ok(org),
                "connection_id": id_ok(connection_id),
                "display_name": text_ok(name),
                "identity_provider": idp_ok(idp),
            },
        ),
        (
            "rotate_cancel",
            lambda: client.rotate_cancel(org, connection_id),
            {"organization_id": id_ok(org), "connection_id": id_ok(connection_id)},
        ),
        (
            "delete",
            lambda: client.delete_connection(org, connection_id),
            {"organization_id": id_ok(org), "connection_id": id_ok(connection_id)},
        ),
        (
            "get_groups",
            lambda: client.get_groups(org, connection_id, cursor=name),
            {
                "organization_id": id_ok(org),
                "connection_id": id_ok(connection_id),
                "cursor": text_ok(name),
            },
        ),
    ]
    for operation, call, checks in calls:
        sent_before = len(transport.requests)
        invalid = {argument for argument, ok in checks.items() if not ok}
        if invalid:
            # Refused before anything is sent, naming one of the bad arguments.
            with pytest.raises(scim.InvalidRequestError) as info:
                await call()
            assert info.value.argument in invalid
            assert len(transport.requests) == sent_before
            continue
        # Valid arguments: exactly one request goes out, and its answer is decoded.
        result = await call()
        assert isinstance(result, ENDPOINTS[operation].response)
        assert len(transport.requests) == sent_before + 1
        request = transport.requests[-1]
        assert request.operation == operation
        parts = urlsplit(request.url)
        segments = parts.path.split("/")
        assert parts.netloc == "test.stytch.com"
        assert segments[:4] == ["", "v1", "b2b", "scim"]
        assert unquote(segments[4]) == org
        if operation != "get":
            assert unquote(segments[6]) == connection_id
        assert parts.fragment == ""
        if operation == "get_groups" and name:
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
