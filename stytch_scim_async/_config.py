"""Timeout as a value (as httpx's `Timeout`): per attempt, not per call."""

from __future__ import annotations

import math

import attrs

from . import errors

__all__ = ["Timeout"]


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise errors.InvalidRequestError(attribute.name, f"must be a number > 0, got {value!r}")
    if not math.isfinite(value):
        raise errors.InvalidRequestError(attribute.name, "must be finite")


@attrs.frozen
class Timeout:
    """How long one HTTP attempt may take.

    Stytch cuts requests at 30 s, so the default `total` of 31 s never abandons a
    request Stytch is still working on; `connect` is short because a connection that
    takes longer than 5 s to open is a network problem worth retrying. The whole
    call (attempts and backoff) is bounded by `RetryPolicy.deadline`.
    """

    total: float = attrs.field(default=31.0, validator=_positive)
    connect: float = attrs.field(default=5.0, validator=_positive)

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
        return cls(total=value, connect=min(5.0, value) if value > 0 else value)
