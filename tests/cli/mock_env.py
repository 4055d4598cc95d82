"""`MockEnvironment`: a run of `stytch-scim` in-process, with nothing of the process's.

The command reads its stdin from bytes, writes stdout and stderr into `io.StringIO`,
sees the terminal flags and the variables a test chose, and `run_main` returns what a
shell would see: the exit status and both streams.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping, Sequence

import attrs

from stytch_scim_async import cli
from stytch_scim_async._cli.env import Environment
from stytch_scim_async._cli.exit import ExitStatus


class MockEnvironment(Environment):
    """An `Environment` over `io.StringIO` streams, chosen terminal flags and a dict of
    variables (None values are left out, as if unset)."""

    def __init__(
        self,
        *,
        stdin: bytes | str = b"",
        environ: Mapping[str, str | None] | None = None,
        stdout_isatty: bool = False,
        stderr_isatty: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        self.captured_stdout = io.StringIO()
        self.captured_stderr = io.StringIO()
        super().__init__(
            stdin=io.BytesIO(data),
            stdout=self.captured_stdout,
            stderr=self.captured_stderr,
            stdout_isatty=stdout_isatty,
            stderr_isatty=stderr_isatty,
            environ={k: v for k, v in (environ or {}).items() if v is not None},
            clock=clock,
        )


@attrs.frozen
class Run:
    """What one run left: its exit status and what it wrote on each stream."""

    exit_code: ExitStatus
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Both streams, for assertion messages."""
        return self.stdout + self.stderr


def run_main(argv: Sequence[str], env: MockEnvironment) -> Run:
    """`stytch_scim_async.cli.main(argv, env)`, the console script's own entry point,
    with its `SystemExit` turned into a `Run`."""
    try:
        cli.main(argv, env)
    except SystemExit as exc:
        code = exc.code
    else:  # pragma: no cover - main always exits
        raise AssertionError("cli.main returned instead of exiting")
    assert isinstance(code, ExitStatus), f"exited with {code!r}, not an ExitStatus"
    return Run(code, env.captured_stdout.getvalue(), env.captured_stderr.getvalue())
