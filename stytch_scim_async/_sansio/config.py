"""Timeout as a value (as httpx's `Timeout`): per attempt, not per call; and the
checks every tunable of the client's policies shares, so a bad knob is an
`InvalidRequestError` at construction, never a `TypeError` mid-batch."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from .. import errors

__all__ = ["Timeout", "count", "seconds"]

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
