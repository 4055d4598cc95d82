"""After a create that may have committed: evidence in, verdict out. Pure data.

The one rule this module writes down: a connection is rotated (its token recovered)
only with evidence that it is this call's own — absence proven before the POST (a
GET, the batch's organizations search, or the caller's word) and, since then, an
attempt that may have committed and nothing else in this client that could explain
the connection. Without that evidence the answer is `TOKEN_LOST` (maybe ours: say
so, touch nothing) or `EXISTS` (not ours), never a rotation.

`decide` is a plain function of an `Evidence` value, so the table is tested as a
table and replayed over HTTP against the emulator with the same rows.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ..models import SCIMConnection

__all__ = ["Evidence", "Verdict", "decide", "evidence_for", "fits_request"]


class Verdict(enum.Enum):
    """What a create does once it has looked."""

    #: No active connection: nothing committed. Any doubt so far is cleared, absence
    #: is proven as of this look, and the retry policy decides on the real answer.
    POST_AGAIN = "post_again"
    #: Ours, and its token is lost: rotate it (start + complete) and return the token.
    RECOVER = "recover"
    #: Maybe ours, without the evidence to rotate it: `TokenLostError`, untouched.
    TOKEN_LOST = "token_lost"  # noqa: S105 - a verdict, not a secret
    #: Not ours (it was there before, or does not look like our create): untouched.
    EXISTS = "exists"
    #: Stytch could not be asked: the doubt stands, the retry policy decides.
    UNKNOWN = "unknown"


@attrs.frozen
class Evidence:
    """What a create knows when it decides."""

    #: The GET answered.
    answered: bool
    #: It showed an active connection (a `deleted` one counts as none).
    active: bool = False
    #: Since absence was last proven (or since the call began), an attempt may have
    #: committed: a 5xx, a timeout, a dropped or undecodable reply, or an earlier
    #: process that may have sent the create.
    in_doubt: bool = False
    #: Absence was proven before the POST, and no other call for this organization
    #: ran in this client since.
    proven_absent: bool = False
    #: Every field the request named equals the connection's (an omitted field can
    #: neither agree nor refute).
    fields_agree: bool = False
    #: A rotation is in progress. A fresh create has none; with proof of absence it
    #: can only be this call's own recovery, cut short (say, by a kill): cancelled,
    #: then done again. Without proof it marks someone else's connection.
    rotating: bool = False
    #: It has group role assignments, which no create makes: someone else's.
    assigned: bool = False
    #: The caller asked for lost tokens to be recovered.
    recover_token: bool = False


def decide(evidence: Evidence) -> Verdict:
    """The verdict for `evidence` (see `Verdict` and the module docstring)."""
    if not evidence.answered:
        return Verdict.UNKNOWN
    if not evidence.active:
        return Verdict.POST_AGAIN
    if not evidence.in_doubt or not evidence.fields_agree or evidence.assigned:
        return Verdict.EXISTS
    if evidence.rotating and not evidence.proven_absent:
        return Verdict.EXISTS
    if not (evidence.proven_absent and evidence.recover_token):
        return Verdict.TOKEN_LOST
    return Verdict.RECOVER


def fits_request(connection: SCIMConnection, params: Mapping[str, Any]) -> bool:
    """Whether every field the create `params` named equals the connection's."""
    return all(
        params.get(name) is None or getattr(connection, name) == params[name]
        for name in ("display_name", "identity_provider")
    )


def evidence_for(
    connection: SCIMConnection | None,
    params: Mapping[str, Any],
    *,
    in_doubt: bool,
    proven_absent: bool,
    recover_token: bool,
) -> Evidence:
    """The evidence a GET's answer (`connection`, None when there is none) gives."""
    if connection is None or not connection.active:
        return Evidence(answered=True)
    # Named by a slug or an external id, the organization's proof and lock were taken
    # under another name than the one a call using its id holds: no proof then.
    named = params.get("organization_id")
    canonical = named is None or connection.organization_id == named
    return Evidence(
        answered=True,
        active=True,
        in_doubt=in_doubt,
        proven_absent=proven_absent and canonical,
        fields_agree=fits_request(connection, params),
        rotating=connection.rotating,
        assigned=bool(connection.scim_group_implicit_role_assignments),
        recover_token=recover_token,
    )
