"""One record per call: what every attempt of it needs, passed as one argument.

The engine's methods used to pass the same six to eight values (operation, retry
kind, parameters, headers, rescue, deadline) to each other; a `Call` carries them
once, typed by its endpoint's response, so the engine returns `R` and not `Any`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .. import errors

if TYPE_CHECKING:
    from .._sansio.endpoints import Endpoint
    from .._sansio.wire import RequestHeaders

__all__ = ["Call", "Rescue"]

R = TypeVar("R")

#: Sees each failed attempt of a call and may turn it into the call's result
#: (the reconciliation of creates, rotations and deletes) or raise.
Rescue = Callable[[errors.StytchSCIMError], Awaitable[R]]


class Call(Generic[R]):
    """One call of `endpoint`: its parameters, headers, rescue and deadline.

    `ends` is the call's deadline by the engine's clock (None: no deadline); each
    attempt's timeout is capped by it. `attempts` counts the HTTP exchanges sent."""

    __slots__ = ("attempts", "endpoint", "ends", "headers", "params", "rescue")

    def __init__(
        self,
        endpoint: Endpoint[R],
        params: dict[str, Any],
        headers: RequestHeaders,
        rescue: Rescue[R] | None = None,
        ends: float | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.params = params
        self.headers = headers
        self.rescue = rescue
        self.ends = ends
        self.attempts = 0

    @property
    def operation(self) -> str:
        """The operation's name, as errors, limiter groups and logs name it."""
        return self.endpoint.name

    def __repr__(self) -> str:  # parameters and headers may hold secrets: never shown
        return f"<Call {self.endpoint.name} attempts={self.attempts}>"
