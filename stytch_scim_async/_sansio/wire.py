"""The pure core's requests: headers, credentials, URLs and bodies. No I/O, no clock.

Everything here is a function of its arguments, so it is tested table-driven
without a network (and never imports aiohttp, asyncio or tenacity).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import attrs

from .. import errors
from .._version import __version__
from .config import AppInfo
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
    "user_agent",
]

USER_AGENT = f"stytch-scim-async/{__version__}"
"""The library's own `User-Agent` (an `AppInfo` is appended after it)."""
_ENCODER = json.JSONEncoder(separators=(",", ":"))


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
    # Any "?" or "#", even with nothing after it: "https://host/?" would send every
    # request to "/" with its route in the query string.
    if "?" in base_url or "#" in base_url or parts.username or parts.password:
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
