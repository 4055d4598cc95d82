"""What the helpers and the control routes need of the fake, as a protocol.

`EmulatorHelpers` and the control routes act on a `FakeStytch`, which itself
uses both: typed against this protocol instead, neither imports `_fake`, and the
emulator's modules form no cycle, not even a type-only one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ._faults import FaultInjector
    from ._ids import IdFactory
    from ._operations import Operations
    from ._settings import Settings
    from ._state import EmulatorState, MemberSession
    from ._stats import Stats

__all__ = ["Core", "Steerable"]


class Core(Protocol):
    """The fake's parts the helpers read and change."""

    injector: FaultInjector
    ids: IdFactory
    operations: Operations
    state: EmulatorState
    clock: Callable[[], float]
    _settings: Settings

    @property
    def base_url(self) -> str:
        """Where the fake is served."""
        ...

    def initialize(self) -> None:
        """Build fresh state."""
        ...


class Steerable(Protocol):
    """What the control routes act on (the fake, through its helpers)."""

    stats: Stats

    def tokens(self) -> dict[str, str]:
        """Organization → active bearer token."""
        ...

    def reset(self) -> None:
        """Forget everything."""
        ...

    def new_session(self, organization_id: str, *, admin: bool = True) -> MemberSession:
        """Mint a Member session."""
        ...
