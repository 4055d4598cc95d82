"""The `stytch-scim` console script.

The commands live in `stytch_scim_async._cli.app`; this module only checks that the
optional `cli` extra (click and rich) is installed, so that without it the script
says how to get it instead of failing with a traceback, and so that importing the
library never imports either.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

HINT = "stytch-scim needs the 'cli' extra: pip install 'stytch-scim-async[cli]'"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the console script on `argv` (default: the process arguments); exits 2 with an
    install hint when click or rich is missing."""
    try:
        import click  # noqa: F401
        import rich  # noqa: F401
    except ImportError:
        sys.stderr.write(HINT + "\n")
        raise SystemExit(2) from None
    from ._cli.app import app

    app.main(args=None if argv is None else list(argv), prog_name="stytch-scim")
