"""Timeout as a value (as httpx's `Timeout`): per attempt, not per call; the checks
every tunable of the client's policies shares, so a bad knob is an
`InvalidRequestError` at construction, never a `TypeError` mid-batch; and the checks
of what a caller adds to the wire (`AppInfo`, extra headers), so nothing it passes
can split a header or replace one the client sets."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .. import errors

__all__ = ["AppInfo", "Timeout", "check_extra_headers", "count", "seconds"]

Validator = Callable[[object, "attrs.Attribute[Any]", Any], None]


def seconds(
    *,
    above: float | None = None,
    at_least: float | None = None,
    below: float | None = None,
    finite: bool = True,
    optional: bool = False,
) -> Validator:
    """An attrs validator for a real number in the given interval (bools and NaN refused)."""
    bounds = [
        f"> {above}" if above is not None else "",
        f">= {at_least}" if at_least is not None else "",
        f"< {below}" if below is not None else "",
    ]
    wanted = "a number " + " and ".join(b for b in bounds if b)

    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or math.isnan(value)
            or (finite and math.isinf(value))
            or (above is not None and not value > above)
            or (at_least is not None and not value >= at_least)
            or (below is not None and not value < below)
        ):
            raise errors.InvalidRequestError(attribute.name, f"must be {wanted}, got {value!r}")

    return check


def count(minimum: int) -> Validator:
    """An attrs validator for an int (not a bool) of at least `minimum`."""

    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise errors.InvalidRequestError(
                attribute.name, f"must be an int >= {minimum}, got {value!r}"
            )

    return check


_positive = seconds(above=0)


@attrs.frozen
class Timeout:
    """How long one HTTP attempt may take.

    Stytch cuts requests at 30 s, so the default `total` of 31 s never abandons a
    request Stytch is still working on; `connect` is short because a connection that
    takes longer than 5 s to open is a network problem worth retrying. The whole
    call (attempts and backoff) is bounded by `RetryPolicy.deadline`.
    """

    total: float = attrs.field(default=31.0, validator=_positive)
    """Seconds one attempt may take, connecting, sending and reading included."""
    connect: float = attrs.field(default=5.0, validator=_positive)
    """Seconds opening a connection may take."""

    @classmethod
    def coerce(cls, value: Timeout | float | None) -> Timeout:
        """Accept a `Timeout`, a number of seconds (the total) or None (the default)."""
        if value is None:
            return cls()
        if isinstance(value, Timeout):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise errors.InvalidRequestError(
                "timeout", f"must be a Timeout or a number of seconds, got {type(value).__name__}"
            )
        try:
            return cls(total=value, connect=min(5.0, value) if value > 0 else value)
        except errors.InvalidRequestError as exc:  # name the argument the caller passed
            raise errors.InvalidRequestError("timeout", exc.problem) from None


#: RFC 9110 `token`: a header name, a product name or version in a User-Agent.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: A header value we send: visible ASCII, spaces and tabs inside (no CR, LF or NUL).
_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?")
#: The headers the client (or aiohttp) sets itself: an extra header never replaces one.
RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "content-type",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "host",
        "user-agent",
        "proxy-authorization",
        "x-stytch-member-session",
        "x-stytch-member-sessionjwt",
    }
)


def _token(argument: str, value: object) -> str:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise errors.InvalidRequestError(
            argument, "must be a non-empty token of letters, digits and !#$%&'*+-.^_`|~"
        )
    return value


def _url(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not re.fullmatch(r"[\x21-\x7e]+", value) or "(" in value:
        raise errors.InvalidRequestError(
            f"app_info.{attribute.name}",
            "must be printable ASCII without spaces or parentheses",
        )


@attrs.frozen
class AppInfo:
    """Who is calling Stytch through this library, appended to the `User-Agent`
    (as Stripe's `set_app_info`): Stytch's support can then tell your integration's
    traffic from every other user of the library.

    `name` and `version` are HTTP tokens (no spaces); `url` is printable ASCII. The
    `User-Agent` becomes `stytch-scim-async/<v> <name>/<version> (<url>)`.
    """

    name: str = attrs.field(validator=lambda _, __, v: _token("app_info.name", v))
    """Your integration's name, an HTTP token (`acme-provisioner`)."""
    version: str | None = attrs.field(
        default=None,
        validator=lambda _, __, v: None if v is None else _token("app_info.version", v),
    )
    """Its version, an HTTP token (`2.1.0`), if you want it sent."""
    url: str | None = attrs.field(default=None, validator=_url)
    """Where to learn about it, or reach its authors, if you want it sent."""

    def product(self) -> str:
        """This app's part of the `User-Agent`."""
        text = self.name if self.version is None else f"{self.name}/{self.version}"
        return text if self.url is None else f"{text} ({self.url})"


def check_extra_headers(headers: object) -> dict[str, str]:
    """Validate extra request headers: names are HTTP tokens, values visible ASCII with
    no CR, LF or NUL (a header split there would smuggle another), and none replaces a
    header the client sets. Values are never echoed: they may be credentials."""
    if not isinstance(headers, Mapping):
        raise errors.InvalidRequestError("headers", "must be a mapping of names to values")
    checked: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in headers.items():
        _token("headers", name)
        lowered = name.lower()
        if lowered in RESERVED_HEADERS:
            raise errors.InvalidRequestError(
                "headers", f"{name!r} is set by the client and cannot be replaced"
            )
        if lowered in seen:
            raise errors.InvalidRequestError("headers", f"{name!r} is given twice")
        seen.add(lowered)
        if not isinstance(value, str) or not _VALUE.fullmatch(value):
            raise errors.InvalidRequestError(
                "headers",
                f"the value of {name!r} must be a non-empty string of visible ASCII "
                "(no CR, LF or other control characters)",
            )
        checked[name] = value
    return checked
