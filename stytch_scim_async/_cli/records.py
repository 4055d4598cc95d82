"""The lines of a `provision` results file, as plain dicts (one JSON object a line).

Three kinds, each tagged by `kind`:

- `header`, always the first line: which tool wrote the file and for which project;
- `pending`, written (and fsync'd) before an organization's first create is sent:
  from then on a connection may exist whose token only this run could learn;
- `result`, written (and fsync'd) when an organization is finished, token included.

Nothing here does I/O; `_cli.results` writes the lines and `_cli.ledger` reads them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .. import errors
from .._provision.batch import ProvisionOutcome, ProvisionRequest

__all__ = [
    "DONE_STATUSES",
    "FORMAT",
    "VERSION",
    "error_type",
    "header_record",
    "outcome_record",
    "pending_record",
    "timestamp",
]

#: The `format` of a header line, and the version of the layout described above.
FORMAT = "stytch-scim provision results"
VERSION = 2

#: Statuses after which an organization is never sent again by a rerun.
DONE_STATUSES = frozenset({"created", "recovered", "already_exists"})


def timestamp(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a `Z`, as Stytch writes timestamps; None stays None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _now() -> str | None:
    return timestamp(datetime.now(UTC).replace(microsecond=0))


def error_type(error: BaseException) -> str:
    """Stytch's `error_type` when the server named one, else the exception's class name."""
    named = getattr(error, "error_type", None)
    return named if isinstance(named, str) and named else type(error).__name__


def header_record(project_id: str) -> dict[str, Any]:
    """The first line: a file is only ever resumed by a run for the same project."""
    return {
        "kind": "header",
        "format": FORMAT,
        "version": VERSION,
        "project_id": project_id,
        "created_at": _now(),
    }


def pending_record(request: ProvisionRequest) -> dict[str, Any]:
    """The intent line written before `request`'s first create is sent.

    It records what is sent (a rerun reconciles against that, whatever the input file
    says by then) and whether the organization was proven to have no connection first
    (then a matching connection found later is ours, and its token is recovered)."""
    return {
        "kind": "pending",
        "organization_id": request.organization_id,
        "display_name": request.display_name,
        "identity_provider": request.identity_provider,
        "proven_absent": request.proven_absent,
        "at": _now(),
    }


def outcome_record(outcome: ProvisionOutcome) -> dict[str, Any]:
    """One `result` line. Every key is always present; a token whenever one is held."""
    connection = outcome.connection
    error = outcome.error
    connection_id = connection.connection_id if connection is not None else None
    if connection_id is None and isinstance(error, errors.TokenLostError):
        connection_id = error.connection.connection_id
    if connection_id is None:  # ConnectionExistsError, and the CLI's TokenSuperseded
        named = getattr(error, "connection_id", None)
        connection_id = named if isinstance(named, str) else None
    token = outcome.bearer_token
    return {
        "kind": "result",
        "organization_id": outcome.request.organization_id,
        "status": outcome.status.value,
        "connection_id": connection_id,
        "bearer_token": token,
        # False when the token may be the pending one of a rotation Stytch did not
        # confirm (status `unconfirmed`): a rerun checks it before anything else.
        "token_confirmed": outcome.token_confirmed,
        "bearer_token_expires_at": timestamp(connection.bearer_token_expires_at)
        if connection is not None
        else None,
        # A recovery that could not confirm its rotation: this token is the connection's
        # if the rotation completed, else the pending one (completing the rotation
        # makes it active). Either way it must not be dropped.
        "next_bearer_token": error.next_bearer_token
        if isinstance(error, errors.TokenLostError)
        else None,
        "error_type": error_type(error) if error is not None else None,
        "error_message": str(error) if error is not None else None,
        "may_have_committed": isinstance(error, errors.StytchSCIMError)
        and error.may_have_committed,
        "request_id": outcome.request_id,
        "attempts": outcome.attempts,
    }
