"""Views of a client (`with_options`): the same pool, budget, limiters, locks and
transport, with another policy, timeout, deadline, headers or hooks."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, TypeVar

import attrs

from .. import errors
from .._engine.hooks import Hook, Hooks, log_event
from .._engine.recovery import Recovery
from .._engine.rotations import Rotations
from .._policy.retry import RetryPolicy
from .._sansio.config import Timeout, check_extra_headers

if TYPE_CHECKING:
    from .base import _BaseClient

__all__ = ["KEEP", "Keep", "view_of", "with_debug"]

C = TypeVar("C", bound="_BaseClient")


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


def view_of(
    client: C,
    retry: RetryPolicy | None,
    timeout: Timeout | float | None,
    deadline: float | Keep | None,
    headers: dict[str, str] | None,
    hooks: Iterable[Hook] | Keep | None,
) -> C:
    """`client.with_options(...)`: every argument checked before the view exists."""
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise errors.InvalidRequestError("retry", "must be a RetryPolicy")
    policy = retry if retry is not None else client.retry
    if not isinstance(deadline, Keep):
        try:
            policy = attrs.evolve(policy, deadline=deadline)
        except errors.InvalidRequestError as exc:
            raise errors.InvalidRequestError("deadline", exc.problem) from None
    extra = check_extra_headers(headers) if headers is not None else None
    view_timeout = Timeout.coerce(timeout) if timeout is not None else client.timeout
    view_hooks = (
        client._hooks
        if isinstance(hooks, Keep)
        else Hooks.build(with_debug(hooks, client._debug), share=client._hooks)
    )
    view = copy.copy(client)
    view.retry, view.timeout, view._hooks = policy, view_timeout, view_hooks
    view._owner = False
    if extra:
        view._headers = client._headers.with_extra(extra)
    view._rotations = Rotations(view)
    view._recovery = Recovery(view, view._rotations)  # the org locks stay shared
    return view
