"""What the console script prints: JSON on stdout, errors and the `-v` log on stderr.

stdout carries the documents a command exists to print (tokens included, for `create`
and `rotate`); stderr carries messages, which never hold a token or a secret. The
`-v` log names the organization each line is about: the library's retry records
carry it (`organization_id`), and the CLI's own lines take it from `ORGANIZATION`,
which a command or a confirming task sets.
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import datetime
from typing import Any, NoReturn

import attrs

from .. import errors
from .env import Environment
from .exit import ExitStatus
from .records import error_type, timestamp

__all__ = ["ORGANIZATION", "LogHandler", "emit", "exit_status", "fail", "log", "to_json"]

#: The organization the current task works on, for the `-v` log (None: not known).
ORGANIZATION: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "stytch_scim_cli_organization", default=None
)

#: The CLI's own records (recoveries, an early stop), beside the library's.
log = logging.getLogger("stytch_scim_async.cli")


class LogHandler(logging.Handler):
    """`-v`: each record of the `stytch_scim_async` loggers as one stderr line of the
    environment, prefixed with the organization it concerns when that is known."""

    def __init__(self, env: Environment) -> None:
        super().__init__(logging.INFO)
        self.env = env

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record as `LEVEL logger: message [organization ID]`."""
        try:
            message = record.getMessage()
            organization = getattr(record, "organization_id", None) or ORGANIZATION.get()
            if organization and organization not in message:
                message = f"{message} [organization {organization}]"
            self.env.say(f"{record.levelname} {record.name}: {message}")
        except Exception:  # pragma: no cover - logging's own last resort
            self.handleError(record)


def _serialize(_instance: Any, _field: Any, value: Any) -> Any:
    return timestamp(value) if isinstance(value, datetime) else value


def to_json(model: Any) -> Any:
    """An attrs model as Stytch's JSON: field names as keys, RFC 3339 timestamps."""
    return attrs.asdict(model, value_serializer=_serialize)


def emit(env: Environment, document: Any) -> None:
    """Print one JSON document (or attrs model) on stdout."""
    if attrs.has(type(document)):
        document = to_json(document)
    env.out(json.dumps(document, indent=2, ensure_ascii=False))


def exit_status(error: errors.StytchSCIMError) -> ExitStatus:
    """A bad argument is a usage error; Stytch never reached (nothing can have been
    committed) is `UNREACHABLE`; any other failure is `FAILURE`."""
    if isinstance(error, errors.InvalidRequestError):
        return ExitStatus.USAGE
    if isinstance(error, errors.ConnectError) and not error.may_have_committed:
        return ExitStatus.UNREACHABLE
    return ExitStatus.FAILURE


def fail(env: Environment, error: errors.StytchSCIMError) -> NoReturn:
    """Report a failed call on stderr (never a token) and exit with its status."""
    env.say(f"error: {error_type(error)}: {error}")
    raise SystemExit(exit_status(error))
