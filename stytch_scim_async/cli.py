"""The `stytch-scim` console script.

The commands live in `stytch_scim_async._cli`; this module only checks that the
optional `cli` extra (click and rich) is installed, so that without it the script
says how to get it instead of failing with a traceback, and so that importing the
library never imports either.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._cli.env import Environment
from ._cli.exit import ExitStatus

__all__ = ["main"]

HINT = "stytch-scim needs the 'cli' extra: pip install 'stytch-scim-async[cli]'"


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> None:
    """Run the console script on `argv` (default: the process arguments) in `env`
    (default: this process's streams, terminal and variables), then exit with its
    `ExitStatus`; exits 2 with an install hint when click or rich is missing."""
    if env is None:
        env = Environment.from_process()
    try:
        import click  # noqa: F401
        import rich  # noqa: F401
    except ImportError:
        env.say(HINT)
        raise SystemExit(ExitStatus.USAGE) from None
    from ._cli.app import run

    raise SystemExit(run(sys.argv[1:] if argv is None else argv, env))
