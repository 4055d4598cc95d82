"""The pure core: build requests, parse responses, map errors. No I/O, no clock.

Everything here is a function of its arguments, so it is tested table-driven
without a network (and never imports aiohttp, asyncio or tenacity).
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import attrs

from .. import errors
from .._version import __version__
from .config import AppInfo
from .convert import describe_error, fast_hook, structure
from .endpoints import Endpoint, Mode
from .validate import PLAIN_ID

R = TypeVar("R")

__all__ = [
    "Request",
    "RequestHeaders",
    "Secret",
    "basic_auth",
    "build_request",
    "check_base_url",
    "error_from_response",
    "excerpt",
    "parse_response",
    "retry_after",
    "user_agent",
]

USER_AGENT = f"stytch-scim-async/{__version__}"
"""The library's own `User-Agent` (an `AppInfo` is appended after it)."""
EXCERPT_CHARS = 200
_SECRET_VALUE = re.compile(r'("[^"]*(?:token|secret|jwt)[^"]*"\s*:\s*)"[^"]*"?', re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
#: One encoder: `json.dumps` with any option builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"))
#: orjson's parser, imported at the first reply (it is not needed to import the package).
_FAST_LOADS: Callable[[bytes], Any] | None = None


def _import_fast_loads() -> Callable[[bytes], Any]:
    global _FAST_LOADS
    import orjson

    _FAST_LOADS = orjson.loads
    return _FAST_LOADS


@attrs.define(slots=True)
class Request:
    """A request ready to send. Headers are hidden from repr: they carry credentials."""

    operation: str
    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: bytes | None = attrs.field(default=None, repr=False)


class Secret:
    """A credential in an object whose repr says nothing, so that a constructor that
    fails does not leave it in a frame a locals-capturing traceback shows."""

    __slots__ = ("value",)

    def __init__(self, value: str | None) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret(<redacted>)"


class RequestHeaders:
    """The headers every request of a call carries (credentials among them), in an
    object that is not a mapping and whose repr says nothing: a traceback that
    captures locals (Sentry, `pytest -l`, rich) shows only this repr."""

    __slots__ = ("mapping",)

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self.mapping = mapping

    def __repr__(self) -> str:
        return "RequestHeaders(<redacted>)"

    def with_extra(self, extra: Mapping[str, str]) -> RequestHeaders:
        """These headers plus `extra`."""
        return RequestHeaders({**self.mapping, **extra})


def user_agent(app: AppInfo | None) -> str:
    """The `User-Agent`: the library's, then the calling app's (see `AppInfo`)."""
    return USER_AGENT if app is None else f"{USER_AGENT} {app.product()}"


def basic_auth(user: str, password: str) -> str:
    """The `Authorization` header value for HTTP Basic."""
    raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: the only hosts plain HTTP may reach."""
    if host.lower() == "localhost":
        return True
    import ipaddress  # only for plain http: an https client never needs it

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str) -> str:
    """Validate a base URL and return it without a trailing slash.

    Secrets travel only over HTTPS, except to loopback (the emulator, local proxies).
    """
    if not isinstance(base_url, str) or not base_url:
        raise errors.InvalidRequestError("base_url", "must be a non-empty string")
    try:
        parts = urlsplit(base_url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError as exc:
        raise errors.InvalidRequestError("base_url", f"not a valid URL ({exc})") from None
    if not host:
        raise errors.InvalidRequestError("base_url", "has no host")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise errors.InvalidRequestError(
            "base_url", "must not carry a query, a fragment or credentials"
        )
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host)):
        return base_url.rstrip("/")
    raise errors.InvalidRequestError(
        "base_url", "must use https (plain http is allowed only for loopback hosts)"
    )


#: Each route template split once: (literal pieces, the path parameters between them).
_TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
#: Encoded bodies by their (all-string) fields: a batch sends the same few again and
#: again. Bounded: once full, other bodies are encoded per call.
_BODIES: dict[tuple[tuple[str, str], ...], bytes] = {}
_BODIES_MAX = 256


def _split(template: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    pieces, names = [], []
    rest = template
    while "{" in rest:
        head, _, tail = rest.partition("{")
        name, _, rest = tail.partition("}")
        pieces.append(head)
        names.append(name)
    pieces.append(rest)
    split = _TEMPLATES[template] = (tuple(pieces), tuple(names))
    return split


def _body(fields: dict[str, Any], cacheable: bool) -> bytes:
    if not cacheable:
        return _ENCODER.encode(fields).encode()
    key = tuple(fields.items())
    body = _BODIES.get(key)
    if body is None:
        body = _ENCODER.encode(fields).encode()
        if len(_BODIES) < _BODIES_MAX:
            _BODIES[key] = body
    return body


def build_request(
    endpoint: Endpoint[Any],
    mode: Mode,
    base_url: str,
    params: Mapping[str, Any],
    headers: RequestHeaders | Mapping[str, str],
) -> Request:
    """Turn validated parameters into a `Request`; unset (None) parameters are omitted."""
    if isinstance(headers, RequestHeaders):
        headers = headers.mapping
    route = endpoint.project if mode is Mode.PROJECT else endpoint.member
    pieces, names = _TEMPLATES.get(route.template) or _split(route.template)
    path = pieces[0]
    for index, name in enumerate(names, 1):
        value = params.get(name)
        if value is None:  # a path parameter nobody supplied never reaches the wire
            raise errors.InvalidRequestError(name, "is required")
        path += (value if PLAIN_ID.fullmatch(value) else quote(value, safe="")) + pieces[index]
    rest: dict[str, Any] = {}
    plain = True  # every field a string: the encoded body may be reused
    for name, value in params.items():
        if value is not None and name not in names:
            rest[name] = value
            if type(value) is not str:
                plain = False
    method = route.method
    if method == "GET":
        url = base_url + path
        return Request(endpoint.name, method, url + "?" + urlencode(rest) if rest else url, headers)
    body = None if method == "DELETE" else _body(rest, plain)
    return Request(endpoint.name, method, base_url + path, headers, body)


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
    body: bytes,
    now: datetime | None = None,
) -> R:
    """Decode a response into the endpoint's envelope, or raise the matching error.

    `now` (for an HTTP-date `Retry-After`) is needed only when the status is not 2xx.
    """
    if not 200 <= status < 300:
        if now is None:
            raise TypeError("parse_response needs `now` for a non-2xx response")
        raise error_from_response(status, headers, body, now)
    try:
        # The fast path, orjson and the type's compiled function, only ever says "well
        # formed". Whatever it refuses or might read otherwise than `json` (an integer
        # beyond 64 bits becomes a float, which no int field takes) is decided by the
        # reference path, which also names what is wrong.
        data = (_FAST_LOADS or _import_fast_loads())(body)
        return fast_hook(endpoint.response)(_envelope(data, status), endpoint.response)
    except Exception:  # noqa: S110 - the reference path decides
        pass
    return parse_reference(endpoint, status, headers, body)


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
    endpoint: Endpoint[R], status: int, headers: Mapping[str, str], body: bytes
) -> R:
    """A 2xx body decoded by `json` and the converters, or `ResponseDecodeError`: what
    every reply the fast path does not take gets, and what a test holds it to."""
    data: Any = None
    try:
        # Stytch sends UTF-8 (a proxy may add a byte-order mark); decoding first
        # skips json's encoding detection, and plain UTF-8 is the codec's fast path.
        text = body.decode()
        data = json.loads(text[1:] if text[:1] == "\ufeff" else text)
        data = _envelope(data, status)
        return structure(data, endpoint.response)
    except Exception as exc:  # any decoding failure becomes one typed error
        undecodable = isinstance(exc, json.JSONDecodeError | UnicodeDecodeError)
        problem = "not JSON" if undecodable else describe_error(exc)
        request_id = _text(data.get("request_id")) if isinstance(data, dict) else None
        raise errors.ResponseDecodeError(
            problem,
            status_code=status,
            request_id=request_id or _header(headers, "X-Request-Id"),
            body_excerpt=excerpt(body),
        ) from None  # the parser's error (a JSONDecodeError's `doc`) holds the whole body
