"""The `provision` results file: JSON Lines, mode 0600, one durable line per organization.

Each line can hold a bearer token Stytch will never show again, so the file is private
to its owner from the first byte, and every line is flushed and fsync'd before the
next organization is reported: a crash loses at most the line being written. The file
is only ever appended to; a rerun reads it first and skips the organizations it
already records as done, tolerating the torn last line a crash can leave.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from . import errors
from ._provision import ProvisionOutcome, ProvisionStatus

__all__ = [
    "DONE_STATUSES",
    "ResultsFile",
    "ResultsFileError",
    "error_type",
    "outcome_record",
    "read_done",
    "timestamp",
]

#: Statuses after which an organization is never sent again by a rerun.
DONE_STATUSES = frozenset({"created", "recovered", "already_exists"})

_PRIVATE = 0o600


class ResultsFileError(Exception):
    """The results file cannot be used (not ours, locked, not private, unreadable)."""


def timestamp(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a `Z`, as Stytch writes timestamps; None stays None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def error_type(error: BaseException) -> str:
    """Stytch's `error_type` when the server named one, else the exception's class name."""
    named = getattr(error, "error_type", None)
    return named if isinstance(named, str) and named else type(error).__name__


def outcome_record(outcome: ProvisionOutcome) -> dict[str, Any]:
    """One results line. Every key is always present; the token only when we hold one."""
    connection = outcome.connection
    error = outcome.error
    connection_id = connection.connection_id if connection is not None else None
    if connection_id is None and isinstance(error, errors.TokenLostError):
        connection_id = error.connection.connection_id
    holds_token = connection is not None and outcome.status in (
        ProvisionStatus.CREATED,
        ProvisionStatus.RECOVERED,
    )
    return {
        "organization_id": outcome.request.organization_id,
        "status": outcome.status.value,
        "connection_id": connection_id,
        "bearer_token": connection.bearer_token if holds_token and connection else None,
        "bearer_token_expires_at": timestamp(connection.bearer_token_expires_at)
        if connection is not None
        else None,
        # A recovery that could not confirm its rotation: this token is the connection's
        # if the rotation completed, else the pending one (completing the rotation
        # makes it active). Either way it must not be dropped.
        "next_bearer_token": error.next_bearer_token
        if isinstance(error, errors.TokenLostError)
        else None,
        "error_type": error_type(error) if error is not None else None,
        "error_message": str(error) if error is not None else None,
        "request_id": outcome.request_id,
        "attempts": outcome.attempts,
    }


def _lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            yield number, line


def read_done(path: str, data: bytes) -> dict[str, str]:
    """Organization → status for every organization `data` records as done.

    A line that starts like a record but does not parse is the torn tail of a crashed
    run and is ignored (the organization is simply provisioned again, or found to
    exist); anything else means the file is not a results file, and it is refused
    rather than appended to.
    """
    done: dict[str, str] = {}
    for number, line in _lines(data):
        try:
            record: Any = json.loads(line)
        except ValueError:
            if line.lstrip().startswith(b"{"):
                continue
            raise ResultsFileError(
                f"{path}:{number}: not a provision results file (JSON Lines); choose another --out"
            ) from None
        if not (
            isinstance(record, dict)
            and isinstance(record.get("organization_id"), str)
            and isinstance(record.get("status"), str)
        ):
            raise ResultsFileError(
                f"{path}:{number}: not a provision result (needs organization_id and status)"
            )
        if record["status"] in DONE_STATUSES:
            done.setdefault(record["organization_id"], record["status"])
    return done


def _lock(fd: int, path: str) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows has no flock; run one batch at a time
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ResultsFileError(
            f"{path} is in use by another stytch-scim run; wait for it or choose another --out"
        ) from None


class ResultsFile:
    """An open results file: `done` from earlier runs, `write` appends one durable line."""

    def __init__(self, path: str) -> None:
        """Open (creating it 0600), lock and read `path`; raise `ResultsFileError` if unusable."""
        self.path = path
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            self._fd = os.open(path, flags, _PRIVATE)
        except OSError as exc:
            raise ResultsFileError(f"cannot open {path}: {exc.strerror}") from None
        try:
            self._secure()
            _lock(self._fd, path)
            with open(path, "rb") as existing:
                data = existing.read()
            self.done = read_done(path, data)
            # A crash can leave a line without its newline: end it so ours start clean.
            self._pending = b"\n" if data and not data.endswith(b"\n") else b""
        except OSError as exc:
            os.close(self._fd)
            raise ResultsFileError(f"cannot read {path}: {exc.strerror}") from None
        except BaseException:
            os.close(self._fd)
            raise

    def _secure(self) -> None:
        info = os.fstat(self._fd)
        if not stat.S_ISREG(info.st_mode):
            raise ResultsFileError(f"{self.path} is not a regular file")
        if stat.S_IMODE(info.st_mode) & ~_PRIVATE:
            try:
                os.fchmod(self._fd, _PRIVATE)
            except OSError as exc:
                raise ResultsFileError(
                    f"{self.path} is readable by others and cannot be made private "
                    f"({exc.strerror}); it would hold bearer tokens"
                ) from None

    def write(self, record: dict[str, Any]) -> None:
        """Append `record` as one line and make it durable before returning."""
        data = self._pending + (json.dumps(record, ensure_ascii=False) + "\n").encode()
        self._pending = b""
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

    def close(self) -> None:
        """Release the lock and the descriptor (idempotent)."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
