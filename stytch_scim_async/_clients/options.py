"""What `with_options` and the constructors share: `KEEP` (an argument left as the
client has it) and the hooks `STYTCH_SCIM_LOG=debug` adds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .._engine.hooks import Hook, log_event

__all__ = ["KEEP", "Keep", "with_debug"]


class Keep:
    """The default of a `with_options` argument: keep what the client has."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = Keep()
"""`with_options`'s "unchanged" (None is a value there: no deadline, no hooks)."""


def with_debug(hooks: Iterable[Hook] | None, debug: bool) -> Iterable[Hook] | None:
    """The caller's hooks, plus the event logger under `STYTCH_SCIM_LOG=debug`."""
    if not debug:
        return hooks
    if hooks is not None and (callable(hooks) or not isinstance(hooks, Iterable)):
        return hooks  # refused by Hooks.build, with its own message
    found = list(hooks) if hooks is not None else []
    return found if log_event in found else [*found, log_event]
