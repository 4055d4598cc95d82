"""The records of a batch: what to provision, how each organization ended, totals."""

from __future__ import annotations

import enum

import attrs

from .. import errors
from ..models import SCIMConnectionWithToken

__all__ = ["ProvisionOutcome", "ProvisionProgress", "ProvisionRequest", "ProvisionStatus"]


@attrs.frozen
class ProvisionRequest:
    """One organization to give a SCIM connection.

    `maybe_sent=True` says an earlier process may already have sent this create (it
    crashed before it learnt the answer): the client looks first and never POSTs
    blindly. `proven_absent=True` says the organization was proven to have no
    connection before that create was sent (or, without `maybe_sent`, before this
    one is): a matching connection found after a lost reply is then ours, and its
    token is recovered by rotation.
    """

    organization_id: str
    """The organization to create the connection for."""
    display_name: str | None = None
    """The connection's name in the admin console; None: Stytch's default."""
    identity_provider: str | None = None
    """The IdP it is for (`okta`, ...); None: Stytch's default."""
    maybe_sent: bool = attrs.field(default=False, kw_only=True)
    """An earlier process may have sent this create: look before any POST."""
    proven_absent: bool = attrs.field(default=False, kw_only=True)
    """The organization was proven to have no connection before the create was sent."""


class ProvisionStatus(enum.StrEnum):
    """How one organization ended."""

    CREATED = "created"
    """Created; `bearer_token` is the new token."""
    RECOVERED = "recovered"
    """The create committed but its reply was lost; the token was recovered by rotation
    and Stytch confirmed it is the live one."""
    UNCONFIRMED = "unconfirmed"
    """A recovery rotation made a new token (`bearer_token`) but Stytch did not confirm
    it is the live one: store it, then check the connection (a rerun does)."""
    ALREADY_EXISTS = "already_exists"
    """The organization already had a connection this batch did not make; it was left
    unchanged (`error.connection_id` names it when known)."""
    FAILED = "failed"
    """Anything else; `error` says what (`error.may_have_committed` when the create may
    have taken effect)."""


@attrs.frozen
class ProvisionOutcome:
    """The result for one request. `attempts` counts every HTTP request sent for it."""

    request: ProvisionRequest
    """The request this outcome answers."""
    status: ProvisionStatus
    """How it ended."""
    connection: SCIMConnectionWithToken | None = None
    """The connection with its live token when `ok`; None otherwise."""
    error: errors.StytchSCIMError | None = None
    """The library's error when it did not end `ok` (None otherwise)."""
    attempts: int = 0
    """Every HTTP request sent for this organization (reconciling GETs included)."""
    request_id: str | None = None
    """Stytch's request id of the last answer, for support tickets."""

    @property
    def ok(self) -> bool:
        """True when the organization now has a connection whose live token we hold."""
        return self.status in (ProvisionStatus.CREATED, ProvisionStatus.RECOVERED)

    @property
    def bearer_token(self) -> str | None:
        """Every token the library holds for this organization, confirmed or not: store
        it whenever it is not None (`token_confirmed` says whether it is the live one)."""
        if self.connection is not None:
            return self.connection.bearer_token
        error = self.error
        return error.next_bearer_token if isinstance(error, errors.TokenLostError) else None

    @property
    def token_confirmed(self) -> bool:
        """True when `bearer_token` is verifiably the connection's live token."""
        return self.connection is not None and self.ok


@attrs.frozen
class ProvisionProgress:
    """Running totals, handed to `on_progress` after every outcome."""

    done: int
    """Outcomes handed out so far."""
    in_flight: int
    """Organizations being worked on now."""
    created: int
    """Outcomes `created`."""
    recovered: int
    """Outcomes `recovered`."""
    already_exists: int
    """Outcomes `already_exists`."""
    failed: int
    """Outcomes `failed`."""
    requests: int
    """HTTP requests sent so far, all organizations together."""
    throttled: int
    """429s received so far."""
    unconfirmed: int = 0
    """Outcomes `unconfirmed`: a token to store and check."""
