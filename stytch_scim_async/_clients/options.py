"""What `with_options` and the constructors share: `KEEP` (an argument left as the
client has it), the hooks `STYTCH_SCIM_LOG=debug` adds, and building a client's hooks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .._engine.hooks import Hook, Hooks

__all__ = ["KEEP", "Keep", "build_hooks", "with_debug"]


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
    # Imported only here: a client without hooks never loads the event records.
    from .._engine.hooks import log_event

    found = list(hooks) if hooks is not None else []
    return found if log_event in found else [*found, log_event]


def build_hooks(hooks: Iterable[Hook] | None, debug: bool, ids: Iterator[int]) -> Hooks | None:
    """`Hooks.build` of the caller's hooks (plus the debug logger); the hook machinery
    and its event records are imported only for a client that has a hook."""
    found = with_debug(hooks, debug)
    if found is None:
        return None  # what `Hooks.build(None)` answers
    from .._engine.hooks import Hooks

    return Hooks.build(found, ids)
