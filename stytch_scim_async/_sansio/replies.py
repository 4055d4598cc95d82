"""The pure core's replies: decode a response into its envelope, or map it to its
error. No I/O, no clock.

Everything here is a function of its arguments, so it is tested table-driven
without a network (and never imports aiohttp, asyncio or tenacity).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from .. import errors
from .convert import describe_error, fast_hook, structure
from .endpoints import Endpoint

R = TypeVar("R")

__all__ = [
    "Body",
    "error_from_response",
    "excerpt",
    "hide_body",
    "parse_reference",
    "parse_response",
    "retry_after",
]

EXCERPT_CHARS = 200
_SECRET_VALUE = re.compile(r'("[^"]*(?:token|secret|jwt)[^"]*"\s*:\s*)"[^"]*"?', re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
#: One encoder: `json.dumps` with any option builds a new one per call.

#: orjson's parser, imported at the first reply (it is not needed to import the package).
_FAST_LOADS: Callable[[bytes], Any] | None = None


def _import_fast_loads() -> Callable[[bytes], Any]:
    global _FAST_LOADS
    import orjson

    _FAST_LOADS = orjson.loads
    return _FAST_LOADS


class Body:
    """A reply's bytes in an object whose repr gives only their size: a create's reply
    holds its bearer token, and a locals-capturing traceback (Sentry, `pytest -l`)
    shows every frame an error passed through."""

    __slots__ = ("value",)

    def __init__(self, value: bytes) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Body(<{len(self.value)} bytes>)"


def hide_body(reply: tuple[int, Mapping[str, str], bytes]) -> tuple[int, Mapping[str, str], Body]:
    """A transport's reply with its body in a `Body`."""
    return reply[0], reply[1], Body(reply[2])


def _raw(body: bytes | Body) -> bytes:
    return body.value if isinstance(body, Body) else body


def excerpt(body: bytes) -> str:
    """A short, single-line, secret-free prefix of a body for error messages."""
    text = body[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    text = _SECRET_VALUE.sub(r'\1"<redacted>"', text)
    return _WHITESPACE.sub(" ", text).strip()[:EXCERPT_CHARS]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                return candidate
    return value


def retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date), or None
    when it is absent or unusable. A date in the past means "now" (0.0)."""
    raw = _header(headers, "Retry-After")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        import email.utils  # an HTTP-date is rare: delta-seconds is the common form

        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, (when - now).total_seconds())
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    # A control character (a newline) in a server's field must not split a log line.
    return value if value.isprintable() else "".join(c if c.isprintable() else "?" for c in value)


_STATUS_CLASSES: dict[int, type[errors.APIStatusError]] = {
    400: errors.BadRequestError,
    401: errors.UnauthorizedError,
    403: errors.ForbiddenError,
    404: errors.NotFoundError,
    429: errors.RateLimitError,
}


#: The error types with a class of their own, by (status, error_type).
_ERROR_TYPE_CLASSES: dict[tuple[int, str | None], type[errors.APIStatusError]] = {
    (400, "active_scim_connection_exists"): errors.ConnectionExistsError,
    (400, "bad_domain_for_stytch_sdk"): errors.SDKOriginNotAllowedError,
    (400, "bad_app_bundle_for_stytch_sdk"): errors.SDKOriginNotAllowedError,
    (401, "cname_required_for_http_only_cookies"): errors.CustomDomainRequiredError,
    (401, "cname_invalid_for_http_only_cookies"): errors.CustomDomainRequiredError,
}


def error_from_response(
    status: int, headers: Mapping[str, str], body: bytes, now: datetime
) -> errors.APIStatusError:
    """Map a non-2xx response to its error class; any body (JSON, HTML, empty) works."""
    fields: dict[str, Any] = {}
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        fields = {
            "request_id": _text(data.get("request_id")),
            "error_type": _text(data.get("error_type")) or _text(data.get("error")),
            "error_message": _text(data.get("error_message"))
            or _text(data.get("error_description")),
            "error_url": _text(data.get("error_url")) or _text(data.get("error_uri")),
            "error_details": data.get("error_details"),
        }
    if not fields.get("request_id"):
        fields["request_id"] = _header(headers, "X-Request-Id")
    fields["body_excerpt"] = excerpt(body)
    if status == 429:
        return errors.RateLimitError(
            status_code=status, retry_after=retry_after(headers, now), **fields
        )
    special = _ERROR_TYPE_CLASSES.get((status, fields.get("error_type")))
    if special is not None:
        cls: type[errors.APIStatusError] = special
    elif status >= 500:
        cls = errors.ServerError
    else:
        cls = _STATUS_CLASSES.get(status, errors.APIStatusError)
    return cls(status_code=status, **fields)


def parse_response(
    endpoint: Endpoint[R],
    status: int,
    headers: Mapping[str, str],
    body: bytes | Body,
    now: datetime | None = None,
) -> R:
    """Decode a response into the endpoint's envelope, or raise the matching error.

    `now` (for an HTTP-date `Retry-After`) is needed only when the status is not 2xx.
    No local of this frame (nor of `parse_reference`'s) keeps the body's bytes or
    their parse when it raises: pass a `Body` and a traceback shows none of them.
    """
    if not 200 <= status < 300:
        if now is None:
            raise TypeError("parse_response needs `now` for a non-2xx response")
        raise error_from_response(status, headers, _raw(body), now)
    try:
        # The fast path, orjson and the type's compiled function, only ever says "well
        # formed". Whatever it refuses or might read otherwise than `json` (an integer
        # beyond 64 bits becomes a float, which no int field takes) is decided by the
        # reference path, which also names what is wrong. One expression: no local
        # holds the parse.
        return _checked(
            fast_hook(endpoint.response)(
                _envelope((_FAST_LOADS or _import_fast_loads())(_raw(body)), status),
                endpoint.response,
            )
        )
    except Exception:  # noqa: S110 - the reference path decides
        pass
    return parse_reference(endpoint, status, headers, body)


def _checked(response: R) -> R:
    """`response`, unless a one-time token in it is empty: Stytch never sends an empty
    token, and one handed over as if it were the token would be a token lost."""
    connection = getattr(response, "connection", None)
    for name in ("bearer_token", "next_bearer_token"):
        token = getattr(connection, name, None)
        if token is not None and not token.strip():
            raise ValueError(f"{name} is empty @ $.connection.{name}")
    return response


def _envelope(data: Any, status: int) -> dict[str, Any]:
    if type(data) is not dict:
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    inner = data.get("data")
    if inner is not None and type(inner) is dict:  # the frontend-SDK endpoints wrap it
        data = {**{k: v for k, v in data.items() if k != "data"}, **inner}
    data.setdefault("status_code", status)
    envelope: dict[str, Any] = data
    return envelope


def parse_reference(
    endpoint: Endpoint[R], status: int, headers: Mapping[str, str], body: bytes | Body
) -> R:
    """A 2xx body decoded by `json` and the converters, or `ResponseDecodeError`: what
    every reply the fast path does not take gets, and what a test holds it to."""
    raw: bytes | None = _raw(body)
    text: str | None = None
    data: Any = None
    try:
        # Stytch sends UTF-8 (a proxy may add a byte-order mark); decoding first
        # skips json's encoding detection, and plain UTF-8 is the codec's fast path.
        text = raw.decode()  # type: ignore[union-attr]
        data = json.loads(text[1:] if text[:1] == "\ufeff" else text)
        data = _envelope(data, status)
        return _checked(structure(data, endpoint.response))
    except Exception as exc:  # any decoding failure becomes one typed error
        undecodable = isinstance(exc, json.JSONDecodeError | UnicodeDecodeError)
        problem = "not JSON" if undecodable else describe_error(exc)
        request_id = _text(data.get("request_id")) if isinstance(data, dict) else None
        error = errors.ResponseDecodeError(
            problem,
            status_code=status,
            request_id=request_id or _header(headers, "X-Request-Id"),
            body_excerpt=excerpt(raw),  # type: ignore[arg-type]
        )
    # Raised outside the `except`, after the locals are dropped: the parser's error (a
    # JSONDecodeError's `doc` is the whole body) is not even the error's context, and
    # no frame keeps the body (a create's holds its token) for a traceback to show.
    raw = text = data = None
    raise error
