"""The console script's exit statuses, one name each, as docs/cli.md lists them.

Scripts branch on these numbers (retry later, fix the input, look at the results
file), so each has one meaning across every command; no command exits with a bare
number. Standard library only: `stytch_scim_async.cli` uses it before it knows
whether the `cli` extra is installed.
"""

from __future__ import annotations

import enum

__all__ = ["ExitStatus"]


class ExitStatus(enum.IntEnum):
    """Why `stytch-scim` ended; the value is the process's exit status."""

    #: Everything asked for was done (a batch: every organization has a confirmed token
    #: on file, or already had a connection with --allow-existing).
    OK = 0
    #: A call failed, or a batch left organizations failed, unconfirmed or already
    #: connected; stderr (and a batch's results file) says which and why.
    FAILURE = 1
    #: Bad arguments, credentials or input file, or an --out that cannot be used;
    #: nothing was sent.
    USAGE = 2
    #: Stytch could not be reached at all (every connection attempt was refused or
    #: failed): a batch stopped early, leaving the organizations it never attempted
    #: untouched for the rerun.
    UNREACHABLE = 3
    #: Stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it); a batch's
    #: rerun resumes it.
    INTERRUPTED = 130
