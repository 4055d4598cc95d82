"""What one batch task's create has sent and received so far, for its outcome.

A batch runs each create in a task of its own and sets a `Receipt` in that task's
context: the engine counts the requests into it, and a recovery records the
connection and the next token there as soon as it holds one, so a create cancelled
mid-recovery still hands its token over. Set only by batches: a process that never
ran one reads no context variable per request.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from ..models import SCIMConnection

__all__ = ["Receipt", "current_receipt", "keep_receipt"]


@attrs.define
class Receipt:
    """Requests sent, and the token a recovery made (hidden from the repr)."""

    requests: int = 0
    connection: SCIMConnection | None = None
    next_token: str | None = attrs.field(default=None, repr=False)


_RECEIPT: contextvars.ContextVar[Receipt | None] = contextvars.ContextVar(
    "stytch_scim_receipt", default=None
)


#: Whether any task of this process ever kept a receipt: until one does, a request
#: reads no context variable at all.
_KEPT = False


def keep_receipt(receipt: Receipt) -> None:
    """Record what the current task sends and recovers in `receipt` from now on."""
    global _KEPT
    _KEPT = True
    _RECEIPT.set(receipt)


def current_receipt() -> Receipt | None:
    """The current task's receipt, if a batch set one."""
    return _RECEIPT.get() if _KEPT else None
