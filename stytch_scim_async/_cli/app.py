"""The `stytch-scim` command group: the commands of every module, and `emulator`.

Imported only by `cli.main` (and tests), once click and rich are known to be
installed, so the library itself never pays for them. `run` is the whole program:
arguments and an `Environment` in, an `ExitStatus` out, every message on the
environment's streams, click's own usage errors included.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from .demo import demo
from .env import Environment
from .exit import ExitStatus
from .options import PROG, Group, environment, verbose_option, version_option
from .provision import provision
from .single import create, delete, get, rotate

__all__ = ["app", "run"]


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@version_option
@verbose_option
def app() -> None:
    """Manage Stytch B2B SCIM connections: single calls, resumable batch provisioning,
    and a local Stytch emulator.

    Credentials: --project-id (or STYTCH_PROJECT_ID), and the secret from STYTCH_SECRET
    or --secret-file (never from an argument).
    """


@app.command(
    short_help="Serve the Stytch emulator on 127.0.0.1.",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("emulator_args", nargs=-1, type=click.UNPROCESSED)
def emulator(emulator_args: tuple[str, ...]) -> None:
    """Serve the Stytch emulator on 127.0.0.1 until interrupted (--help lists the faults).

    Prints base_url=, project_id=, secret= and public_token= lines: the emulator's own
    throwaway credentials, to point a client (or this tool) at it.
    """
    from ..testing import main as serve

    out = environment().stdout
    raise SystemExit(ExitStatus(serve(list(emulator_args), out=out, prog=f"{PROG} emulator")))


for _command in (create, get, delete, rotate, provision, demo):
    app.add_command(_command)


def _status(code: object) -> ExitStatus:
    if code is None:
        return ExitStatus.OK
    try:
        return ExitStatus(code) if isinstance(code, int) else ExitStatus.FAILURE
    except ValueError:  # pragma: no cover - every exit of ours is an ExitStatus
        return ExitStatus.FAILURE


def run(argv: Sequence[str], env: Environment) -> ExitStatus:
    """Run `stytch-scim ARGV` in `env`; the exit status, whatever happened."""
    try:
        # Not standalone: click returns `--help`'s and `--version`'s exit code and
        # raises the rest, so that its messages go to `env` too.
        code = app.main(args=list(argv), prog_name=PROG, obj=env, standalone_mode=False)
    except SystemExit as exc:
        return _status(exc.code)
    except click.ClickException as exc:  # usage errors, unusable files: exit 2
        exc.show(file=env.stderr)
        return ExitStatus(exc.exit_code)
    except click.Abort:  # Ctrl-C outside a batch (which handles its own)
        env.say("interrupted")
        return ExitStatus.INTERRUPTED
    return _status(code if isinstance(code, int) else None)
