"""What every `stytch-scim` command shares: credentials, logging, errors, JSON output.

Secrets come only from the environment or a file, never from an argument (which `ps`
and shell history would show), and no message built here ever contains one.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, NoReturn, TypeVar

import attrs
import click

from .. import errors
from .._clients.project import SCIMClient
from .._policy.throttle import AdaptiveRateLimiter
from .results import error_type, timestamp

__all__ = [
    "Api",
    "api_options",
    "call",
    "emit",
    "ends_like",
    "fail",
    "to_json",
    "verbose_option",
]

T = TypeVar("T")


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


def _read_secret(secret_file: str | None) -> str:
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
    secret = os.environ.get("STYTCH_SECRET", "").strip()
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
        if not project_id:
            raise click.UsageError("no project id: pass --project-id or set STYTCH_PROJECT_ID")
        api = Api(project_id, _read_secret(secret_file), base_url, timeout)
        func(*args, api=api, **kwargs)

    options = (
        click.option(
            "--project-id", envvar="STYTCH_PROJECT_ID", show_envvar=True, help="Stytch project id."
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


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time, so that log lines go above a
    live progress bar (rich swaps `sys.stderr` for a proxy while it draws one)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _enable_logging(ctx: click.Context, _: click.Parameter, verbose: bool) -> None:
    if not verbose:
        return
    logger = logging.getLogger("stytch_scim_async")
    if any(isinstance(h, _StderrHandler) for h in logger.handlers):
        return  # -v given both before and after the command name
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
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
    help="Log retries and recoveries (INFO) on stderr.",
)
"""`-v`: the library's INFO log (retries, with status and request id) on stderr."""


def ends_like(token: str, last_four: str) -> bool:
    """Whether Stytch's `*_last_four` of a connection names `token`."""
    return bool(last_four) and token.endswith(last_four)


def fail(error: errors.StytchSCIMError) -> NoReturn:
    """Report a failed call on stderr (never a token) and exit 1 (2 for a bad argument)."""
    click.echo(f"error: {error_type(error)}: {error}", err=True)
    raise SystemExit(2 if isinstance(error, errors.InvalidRequestError) else 1)


def call(api: Api, operation: Callable[[SCIMClient], Awaitable[T]]) -> T:
    """Run one async operation with a fresh client in its own event loop."""
    client = api.client()

    async def run() -> T:
        async with client:
            return await operation(client)

    try:
        return asyncio.run(run())
    except errors.StytchSCIMError as exc:
        fail(exc)


def _serialize(_instance: Any, _field: Any, value: Any) -> Any:
    return timestamp(value) if isinstance(value, datetime) else value


def to_json(model: Any) -> Any:
    """An attrs model as Stytch's JSON: field names as keys, RFC 3339 timestamps."""
    return attrs.asdict(model, value_serializer=_serialize)


def emit(document: Any) -> None:
    """Print one JSON document (or attrs model) on stdout."""
    if attrs.has(type(document)):
        document = to_json(document)
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))
