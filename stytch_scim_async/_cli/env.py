"""Everything the console script takes from the process around it, in one object.

The commands read their input, write their output, look up variables and tell the
time through an `Environment` handed to them, never through `sys.stdout`,
`os.environ` or `isatty()` directly: a test runs a command in-process with
`io.StringIO` streams, chosen terminal flags and a dict of variables, and sees
exactly what a user would. `cli.main` builds the process's own one. Standard library
only.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import BinaryIO, TextIO

import attrs

__all__ = ["Environment"]


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed or detached stream is no terminal
        return False


@attrs.define
class Environment:
    """The streams, terminal flags, variables and clock one run of `stytch-scim` uses.

    Nothing a command prints bypasses it: stdout (JSON documents, the demo's summary),
    stderr (messages, progress, the `-v` log; never a token) and stdin (an input file
    given as `-`)."""

    #: Bytes of an input file given as `-`.
    stdin: BinaryIO
    stdout: TextIO
    stderr: TextIO
    #: Whether stdout / stderr are terminals (a rich display) or a pipe or log (plain).
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    #: The variables the credentials come from (`STYTCH_PROJECT_ID`, `STYTCH_SECRET`).
    environ: Mapping[str, str] = attrs.field(factory=dict)
    #: Monotonic seconds, for elapsed times and rates.
    clock: Callable[[], float] = time.monotonic
    _divert: Callable[[str], None] | None = attrs.field(default=None, init=False, repr=False)

    @classmethod
    def from_process(cls) -> Environment:
        """This process's own streams, terminal flags and variables."""
        return cls(
            stdin=getattr(sys.stdin, "buffer", None) or io.BytesIO(),  # no stdin: empty
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdout_isatty=_isatty(sys.stdout),
            stderr_isatty=_isatty(sys.stderr),
            environ=os.environ,
        )

    def out(self, text: str) -> None:
        """Write `text` and a newline on stdout."""
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def say(self, message: str) -> None:
        """Write one message line on stderr, above a live progress bar if one is drawn."""
        if self._divert is not None:
            self._divert(message)
            return
        self.stderr.write(message + "\n")
        self.stderr.flush()

    @contextlib.contextmanager
    def diverted(self, write: Callable[[str], None]) -> Iterator[None]:
        """While a live display owns stderr, hand `say`'s lines to `write` (which prints
        them above the display) instead of writing them across it."""
        previous, self._divert = self._divert, write
        try:
            yield
        finally:
            self._divert = previous
