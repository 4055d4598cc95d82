"""Per-organization exclusivity for creates and rotations within one client, and the
memory that voids a proof of absence taken before another call for the organization."""

from __future__ import annotations

from collections import OrderedDict

from .._transports.slots import Slots

__all__ = ["OrgLocks"]

#: Organizations whose last create or rotation OrgLocks remembers, to void proofs
#: taken before it; an older proof than the oldest forgotten activity counts as void
#: (safe: no rotation). A batch's proofs are at most a few windows old, so a few
#: thousand suffice, and memory stays flat in the number of organizations.
REMEMBERED_ORGANIZATIONS = 8192


class _Entry:
    """One organization's holder and its queue: the first call takes it without any
    lock object or await; only a second one for the same organization waits."""

    __slots__ = ("slots", "users")

    def __init__(self) -> None:
        # The queue is made by the first call that has to wait; created held: the
        # caller that made the entry holds it.
        self.slots: Slots | None = None
        self.users = 1


class OrgLocks:
    """Per-organization exclusivity for creates and rotations, shared by every view of
    one client, and the memory that voids a proof of absence taken before another
    call for the organization ran. Bounded: the organizations with a call in flight,
    and the last `REMEMBERED_ORGANIZATIONS` that had one."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._seq = 0
        self._recent: OrderedDict[str, int] = OrderedDict()
        self._forgotten = 0

    def mark(self) -> int:
        """A point in this client's history: take it before a proof of absence."""
        return self._seq

    async def acquire(self, key: str, since: int | None = None) -> bool:
        """Wait for `key`. True (quiet) when no other call for it held or awaited it,
        and, with `since` (a `mark()`), none has run since that mark either."""
        entry = self._entries.get(key)
        if entry is None:  # nobody holds it: ours at once, nothing to wait for
            self._entries[key] = _Entry()
            return since is None or self._untouched(key, since)
        entry.users += 1
        if entry.slots is None:
            entry.slots = Slots(0)
        try:
            await entry.slots.wait()
        except BaseException:
            self._drop(key, entry)
            raise
        return False

    def release(self, key: str) -> None:
        """Let the next call for `key` in.

        Only releases are remembered: a call that ended before a mark ended before the
        proof taken after it (which saw what it did); one that ends after the mark, or
        is still running, voids the proof (`_untouched`, or `users`)."""
        entry = self._entries[key]
        self._touch(key)
        self._drop(key, entry)
        if entry.users and entry.slots is not None:
            entry.slots.release()  # handed to the oldest waiter

    def _touch(self, key: str) -> None:
        self._seq += 1
        recent = self._recent
        recent[key] = self._seq
        recent.move_to_end(key)
        if len(recent) > REMEMBERED_ORGANIZATIONS:
            _, self._forgotten = recent.popitem(last=False)

    def _untouched(self, key: str, since: int) -> bool:
        last = self._recent.get(key)
        return since >= self._forgotten if last is None else last <= since

    def _drop(self, key: str, entry: _Entry) -> None:
        entry.users -= 1
        if not entry.users:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
