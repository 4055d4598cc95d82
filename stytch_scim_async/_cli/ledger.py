"""Reading a results file back, and deciding what a rerun does with each organization.

The file is a log: lines are only ever appended, so an organization may have several
(`pending`, then a `failed` result, then `pending` again, ...). What counts:

| the file says, for an organization                 | the rerun                          |
|----------------------------------------------------|------------------------------------|
| a `created`, `recovered` or `already_exists` result | skips it: the FIRST such line wins |
| nothing                                             | creates it (`fresh`)               |
| a `failed` result, and no `pending` line before it  | creates it (`fresh`): never sent   |
| `pending` last: the run stopped while it was sent   | reconciles it (`resume`)           |
| a `failed` result after a `pending` line            | reconciles it (`resume`)           |
| ... after proof of absence, naming a connection, or | looks at its connection first      |
| holding a token Stytch did not confirm              | (`confirm`, see `_cli.confirm`)    |

"Reconciles" means the create is sent with `maybe_sent=True`: the client looks (GET)
before it ever POSTs again, and with `proven_absent` (any `pending` line of it said
so) a matching connection is known to be ours and its token is recovered by rotation.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from typing import Any

import attrs

from .records import DONE_STATUSES, FORMAT, VERSION

__all__ = ["Action", "History", "Ledger", "LedgerError", "classify", "read_ledger"]


class LedgerError(Exception):
    """The bytes are not a results file this version can resume."""


class Action(enum.Enum):
    """What a rerun does with one organization of the input."""

    SKIP = "skip"
    FRESH = "fresh"
    RESUME = "resume"
    CONFIRM = "confirm"


@attrs.define
class History:
    """What the file says about one organization: only what a rerun needs."""

    organization_id: str
    #: Status of the first done result (it wins over anything written later).
    done: str | None = None
    #: "pending", or the status of the last result line.
    latest: str | None = None
    #: Some `pending` line exists: a create may have been sent.
    sent: bool = False
    #: Some `pending` line said absence was proven before the create was sent.
    proven_absent: bool = False
    #: What the last `pending` line says was sent.
    display_name: str | None = None
    identity_provider: str | None = None
    #: The token of the last result, when it holds one but is not done (`unconfirmed`,
    #: or a `failed` recovery that kept its rotation's token), and its connection.
    token: str | None = attrs.field(default=None, repr=False)
    connection_id: str | None = None
    #: The last result found that connection rotated elsewhere: it is never ours again.
    superseded: bool = False

    def add_pending(self, record: dict[str, Any]) -> None:
        """A `pending` line: a create for this organization was (about to be) sent."""
        self.latest = "pending"
        self.sent = True
        self.proven_absent = self.proven_absent or record.get("proven_absent") is True
        self.display_name = _text(record.get("display_name"))
        self.identity_provider = _text(record.get("identity_provider"))

    def add_result(self, record: dict[str, Any]) -> None:
        """A `result` line; the first done one is kept for good."""
        status = record["status"]
        self.latest = status
        if status in DONE_STATUSES and self.done is None:
            self.done = status
        token = _text(record.get("bearer_token")) or _text(record.get("next_bearer_token"))
        self.token = None if status in DONE_STATUSES else token
        self.connection_id = _text(record.get("connection_id"))
        self.superseded = record.get("error_type") == "TokenSuperseded"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def classify(history: History | None) -> Action:
    """The rerun's decision for one organization (the table in the module docstring)."""
    if history is None:
        return Action.FRESH
    if history.done is not None:
        return Action.SKIP
    if history.token is not None or (
        history.sent and (history.connection_id is not None or history.proven_absent)
    ):
        return Action.CONFIRM
    return Action.RESUME if history.sent else Action.FRESH


@attrs.frozen
class Ledger:
    """A parsed results file: its project (None for an empty file) and the histories."""

    project_id: str | None
    histories: dict[str, History]
    #: Whether the file ends without a newline (a line torn by a crash).
    torn_tail: bool = False

    def history(self, organization_id: str) -> History | None:
        """The organization's history, or None when the file never mentions it."""
        return self.histories.get(organization_id)


def _lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            yield number, line


def _check_header(path: str, number: int, record: dict[str, Any]) -> str:
    if record.get("kind") != "header" or record.get("format") != FORMAT:
        raise LedgerError(
            f"{path}:{number}: not a stytch-scim provision results file (its first line "
            "names no project); choose another --out"
        )
    version = record.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise LedgerError(
            f"{path}:{number}: written by a newer stytch-scim (version {version!r}); "
            "upgrade, or choose another --out"
        )
    project_id = record.get("project_id")
    if not isinstance(project_id, str) or not project_id:
        raise LedgerError(f"{path}:{number}: the header names no project_id")
    return project_id


def read_ledger(path: str, data: bytes) -> Ledger:
    """Parse a results file's bytes; raise `LedgerError` if it is not one.

    A line that starts like a record but does not parse is the torn tail of a crashed
    run and is ignored: whatever it was about to say, the line before it (a `pending`
    line, written first) makes the rerun reconcile that organization."""
    project_id: str | None = None
    histories: dict[str, History] = {}
    for number, line in _lines(data):
        try:
            record: Any = json.loads(line)
        except ValueError:
            if line.lstrip().startswith(b"{"):
                continue
            raise LedgerError(
                f"{path}:{number}: not a provision results file (JSON Lines); choose another --out"
            ) from None
        if not isinstance(record, dict):
            raise LedgerError(f"{path}:{number}: not a provision results line")
        if project_id is None:
            project_id = _check_header(path, number, record)
            continue
        if record.get("kind") == "header":  # repeated after a write cut short
            if _check_header(path, number, record) != project_id:
                raise LedgerError(f"{path}:{number}: a header naming another project")
            continue
        _add(path, number, record, histories)
    return Ledger(project_id, histories, torn_tail=bool(data) and not data.endswith(b"\n"))


def _add(path: str, number: int, record: dict[str, Any], histories: dict[str, History]) -> None:
    kind = record.get("kind")
    organization_id = record.get("organization_id")
    if kind not in ("pending", "result") or not isinstance(organization_id, str):
        raise LedgerError(
            f"{path}:{number}: not a provision results line (needs kind and organization_id)"
        )
    history = histories.get(organization_id)
    if history is None:
        history = histories[organization_id] = History(organization_id)
    if kind == "pending":
        history.add_pending(record)
        return
    if not isinstance(record.get("status"), str):
        raise LedgerError(f"{path}:{number}: a result line without a status")
    history.add_result(record)
