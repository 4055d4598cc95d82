"""The options every `stytch-scim` command shares: credentials, `-v`, `--help`, `--version`.

Secrets come only from the environment or a file, never from an argument (which `ps`
and shell history would show), and no message built here ever contains one. Every
command reaches the run's `Environment` through `environment()`, so even click's own
`--help` text goes to the environment's stdout.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import attrs
import click

from .. import errors
from .._clients.project import SCIMClient
from .._policy.throttle import AdaptiveRateLimiter
from .._version import __version__
from .env import Environment
from .output import LogHandler

__all__ = [
    "Api",
    "Command",
    "Group",
    "api_options",
    "environment",
    "verbose_option",
    "version_option",
]

PROG = "stytch-scim"


def environment(ctx: click.Context | None = None) -> Environment:
    """The run's `Environment`: the one `cli.main` passed in, else (a bare click
    invocation, as `CliRunner` makes) this process's, built once per run."""
    root = (ctx or click.get_current_context()).find_root()
    if not isinstance(root.obj, Environment):
        root.obj = Environment.from_process()
    return root.obj


def _show_help(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    environment(ctx).out(ctx.get_help())
    ctx.exit()


class _HelpOnEnvironment:
    """Writes `--help` on the environment's stdout, not on the process's."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        """Click's help option, printing through `environment()`."""
        option: click.Option | None = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.callback = _show_help
        return option


class Command(_HelpOnEnvironment, click.Command):
    """A `stytch-scim` command: its `--help` goes to the environment's stdout."""


class Group(_HelpOnEnvironment, click.Group):
    """The `stytch-scim` group; its commands are `Command`s."""

    command_class = Command


def _show_version(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    environment(ctx).out(f"{PROG}, version {__version__}")
    ctx.exit()


version_option = click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the version and exit.",
)
"""`--version`, printed on the environment's stdout."""


@attrs.frozen
class Api:
    """Where and as whom to call Stytch (the secret is kept out of repr)."""

    project_id: str
    secret: str = attrs.field(repr=False)
    base_url: str | None = None
    timeout: float | None = None

    def client(self, rate_limiter: AdaptiveRateLimiter | None = None) -> SCIMClient:
        """A client for these settings; a bad base URL is a usage error (exit 2)."""
        try:
            return SCIMClient(
                self.project_id,
                self.secret,
                base_url=self.base_url,
                timeout=self.timeout,
                rate_limiter=rate_limiter,
            )
        except errors.InvalidRequestError as exc:
            raise click.UsageError(str(exc)) from None


def _read_secret(env: Environment, secret_file: str | None) -> str:
    if secret_file is not None:
        try:
            with open(secret_file, encoding="utf-8") as handle:
                secret = handle.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise click.UsageError(f"cannot read --secret-file {secret_file}: {reason}") from None
        if not secret:
            raise click.UsageError(f"--secret-file {secret_file} is empty")
        return secret
    secret = env.environ.get("STYTCH_SECRET", "").strip()
    if not secret:
        raise click.UsageError(
            "no project secret: set STYTCH_SECRET or pass --secret-file PATH "
            "(a secret is never accepted as an argument)"
        )
    return secret


def api_options(func: Callable[..., None]) -> Callable[..., None]:
    """Add --project-id, --secret-file, --base-url and --timeout to a command and hand it
    one resolved `api: Api` instead, so every command gets credentials the same way."""

    @functools.wraps(func)
    def resolved(
        *args: Any,
        project_id: str | None,
        secret_file: str | None,
        base_url: str | None,
        timeout: float | None,
        **kwargs: Any,
    ) -> None:
        env = environment()
        project_id = project_id or env.environ.get("STYTCH_PROJECT_ID")
        if not project_id:
            raise click.UsageError("no project id: pass --project-id or set STYTCH_PROJECT_ID")
        api = Api(project_id, _read_secret(env, secret_file), base_url, timeout)
        func(*args, api=api, **kwargs)

    options = (
        click.option(
            "--project-id", help="Stytch project id [default: the STYTCH_PROJECT_ID variable]."
        ),
        click.option(
            "--secret-file",
            type=click.Path(dir_okay=False),
            help="File holding the project secret [default: the STYTCH_SECRET variable].",
        ),
        click.option(
            "--base-url", help="API root: HTTPS, or plain HTTP to a loopback address (emulator)."
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            help="Seconds one HTTP attempt may take [default: 31].",
        ),
    )
    command: Callable[..., None] = resolved
    for option in reversed(options):
        command = option(command)
    return command


def _enable_logging(ctx: click.Context, _: click.Parameter, verbose: bool) -> None:
    if not verbose:
        return
    logger = logging.getLogger("stytch_scim_async")
    if any(isinstance(h, LogHandler) for h in logger.handlers):
        return  # -v given both before and after the command name
    handler = LogHandler(environment(ctx))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(previous)

    ctx.call_on_close(restore)


verbose_option = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    expose_value=False,
    callback=_enable_logging,
    help="Log retries and recoveries (INFO), each naming its organization, on stderr.",
)
"""`-v`: the library's INFO log (retries, recoveries) on the environment's stderr."""
