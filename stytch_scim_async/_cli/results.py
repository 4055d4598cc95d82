"""The `provision` results file: JSON Lines, mode 0600, durable line by line.

Each line can hold a bearer token Stytch will never show again, so the file is private
to its owner from the first byte (it is created 0600, never loosened then fixed), and
every write is flushed and fsync'd before it returns: the `pending` line of a create
is on disk before the create is sent, and an organization's result before the next
one is reported. A crash loses at most the line being written. The file is only
appended to, starts with a header naming its project, and is locked while in use.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from .ledger import Ledger, LedgerError, read_ledger
from .records import error_type, header_record, outcome_record, timestamp

__all__ = [
    "ResultsFile",
    "ResultsFileError",
    "error_type",
    "outcome_record",
    "timestamp",
]

_PRIVATE = 0o600


class ResultsFileError(Exception):
    """The results file cannot be used (another project's, locked, not private, ...)."""


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
    """An open results file for `project_id`: `ledger` holds what earlier runs wrote;
    `write` and `write_many` append durable lines."""

    def __init__(self, path: str, project_id: str) -> None:
        """Open (creating it 0600), lock and read `path`; raise `ResultsFileError` if it is
        unusable, or was written for another project."""
        self.path = path
        self._lock = threading.Lock()
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            self._fd = os.open(path, flags, _PRIVATE)
        except OSError as exc:
            raise ResultsFileError(f"cannot open {path}: {exc.strerror}") from None
        # A file this tool cannot use (not a regular file, another tool's, another
        # project's) is refused exactly as it was found: it is read, never changed,
        # until it is known to be a results file for this project.
        try:
            self._check_regular()
            _lock(self._fd, path)
            with open(path, "rb") as existing:
                data = existing.read()
            self.ledger: Ledger = read_ledger(path, data)
            if self.ledger.project_id not in (None, project_id):
                raise ResultsFileError(
                    f"{path} holds the results of project {self.ledger.project_id}, not "
                    f"{project_id}: resuming it here would skip organizations this project "
                    "never provisioned; choose another --out"
                )
            self._make_private()
        except OSError as exc:
            os.close(self._fd)
            raise ResultsFileError(f"cannot read {path}: {exc.strerror}") from None
        except LedgerError as exc:
            os.close(self._fd)
            raise ResultsFileError(str(exc)) from None
        except BaseException:
            os.close(self._fd)
            raise
        # A crash can leave a line without its newline: end it so ours start clean. An
        # empty file gets its header with the first line written.
        self._prefix = b"\n" if self.ledger.torn_tail else b""
        self._header = b"" if self.ledger.project_id else _line(header_record(project_id))

    def _check_regular(self) -> None:
        if not stat.S_ISREG(os.fstat(self._fd).st_mode):
            raise ResultsFileError(f"{self.path} is not a regular file")

    def _make_private(self) -> None:
        if stat.S_IMODE(os.fstat(self._fd).st_mode) & ~_PRIVATE:
            try:
                os.fchmod(self._fd, _PRIVATE)
            except OSError as exc:
                raise ResultsFileError(
                    f"{self.path} is readable by others and cannot be made private "
                    f"({exc.strerror}); it would hold bearer tokens"
                ) from None

    def write(self, record: dict[str, Any]) -> None:
        """Append `record` as one line and make it durable before returning."""
        self.write_many((record,))

    def write_many(self, records: Iterable[dict[str, Any]]) -> None:
        """Append `records`, one line each, with a single fsync before returning.

        Thread-safe: intents and outcomes are written from worker threads at once."""
        data = b"".join(_line(record) for record in records)
        with self._lock:
            self._append(data)

    def _append(self, data: bytes) -> None:
        head = self._prefix + self._header
        view = memoryview(head + data)
        done = 0
        try:
            while done < len(view):
                done += os.write(self._fd, view[done:])
        except BaseException:
            # Whatever made it to the file (a failed write may still have written some)
            # ends up a torn line: start the next write on a line of its own, with the
            # header again unless it certainly made it whole (a repeat is skipped).
            self._prefix = b"\n"
            if done >= len(head):
                self._header = b""
            raise
        self._prefix = self._header = b""
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


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode()
