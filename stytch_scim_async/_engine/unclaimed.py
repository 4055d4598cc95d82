"""The last resort for a token nobody can be handed: a private file, never nowhere.

A batch iterated without `async with` and left early, or a single create cancelled
in the middle of a recovery, holds tokens no caller will receive. They are written,
one JSON object a line, to a new 0600 file in `$STYTCH_SCIM_UNCLAIMED_DIR`, else the
working directory, else the system's temporary directory; an error is logged naming
the file (never a token).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["write_unclaimed"]

logger = logging.getLogger("stytch_scim_async")


def _folders() -> list[str]:
    chosen = os.environ.get("STYTCH_SCIM_UNCLAIMED_DIR")
    folders = [chosen] if chosen else []
    with contextlib.suppress(OSError):  # the working directory may have been removed
        folders.append(os.getcwd())
    import tempfile  # only when a token must be written down: rare, and slow to import

    folders.append(tempfile.gettempdir())
    return folders


def write_unclaimed(
    records: Iterable[Any], encode: Callable[[Any], Mapping[str, Any]], why: str
) -> str | None:
    """Write `encode(record)` for each record to a new private file; its path, or None
    when no folder would take it (then the error log says so)."""
    items = list(records)
    name = f"stytch-scim-unclaimed-{os.getpid()}-{time.time_ns()}.jsonl"
    for folder in _folders():
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError:
            continue
        try:
            for item in items:
                os.write(fd, (json.dumps(encode(item)) + "\n").encode())
            os.fsync(fd)
        except OSError:
            os.close(fd)
            continue
        os.close(fd)
        logger.error(
            "%s: %d record(s) holding bearer tokens nobody received were written to %s "
            "(mode 0600): store them, then delete the file",
            why,
            len(items),
            path,
        )
        return path
    logger.error(
        "%s: %d record(s) holding bearer tokens could not be written anywhere", why, len(items)
    )
    return None
