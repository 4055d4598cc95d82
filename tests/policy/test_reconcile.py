"""The reconcile table, tested as a table (its replay over HTTP is in
tests/engine/test_token_safety.py, driven by the same rows)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from stytch_scim_async._policy.reconcile import (
    Evidence,
    Verdict,
    decide,
    evidence_for,
    fits_request,
)
from stytch_scim_async.models import SCIMConnection, SCIMGroupImplicitRoleAssignment

from ..support.reconcile import ROWS, Row

FIELDS = (
    "answered",
    "active",
    "in_doubt",
    "proven_absent",
    "fields_agree",
    "rotating",
    "assigned",
    "recover_token",
)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_each_named_row(row: Row) -> None:
    assert decide(row.evidence) is row.verdict


def test_the_rule_over_every_combination() -> None:
    """Rotation happens only with every piece of evidence; no other verdict is
    reachable where the table says it is not."""
    rotations = 0
    for values in itertools.product((False, True), repeat=len(FIELDS)):
        e = Evidence(**dict(zip(FIELDS, values, strict=True)))
        verdict = decide(e)
        if not e.answered:
            assert verdict is Verdict.UNKNOWN
        elif not e.active:
            assert verdict is Verdict.POST_AGAIN
        elif not e.in_doubt or not e.fields_agree or e.assigned:
            assert verdict is Verdict.EXISTS  # nothing of ours can be this connection
        elif e.rotating and not e.proven_absent:
            assert verdict is Verdict.EXISTS  # not what a fresh create looks like
        elif e.proven_absent and e.recover_token:
            assert verdict is Verdict.RECOVER
            rotations += 1
        else:
            assert verdict is Verdict.TOKEN_LOST  # maybe ours: no proof, or no leave
    assert rotations == 2  # proven, in doubt, fitting, unassigned: rotating or not


def connection(**changes: object) -> SCIMConnection:
    fields: dict[str, object] = {
        "organization_id": "organization-test-1",
        "connection_id": "scim-connection-test-1",
        "status": "active",
        "display_name": "Okta",
        "identity_provider": "okta",
        "base_url": "https://test.stytch.com/v1/b2b/scim/scim-connection-test-1",
        "bearer_token_last_four": "abcd",
        "bearer_token_expires_at": datetime(2030, 1, 1, tzinfo=UTC),
    }
    fields.update(changes)
    return SCIMConnection(**fields)  # type: ignore[arg-type]


REQUEST = {
    "organization_id": "organization-test-1",
    "display_name": "Okta",
    "identity_provider": "okta",
}


@pytest.mark.parametrize(
    ("found", "params", "agree"),
    [
        (connection(), REQUEST, True),
        (connection(identity_provider="generic"), REQUEST, False),
        (connection(display_name="Legacy Okta"), REQUEST, False),
        # An omitted field can neither agree nor refute: only proof of absence
        # (not the fields) can make such a connection ours.
        (connection(display_name="Legacy Okta"), {**REQUEST, "display_name": None}, True),
        (connection(identity_provider="generic"), {**REQUEST, "identity_provider": None}, True),
    ],
)
def test_what_counts_as_fitting_the_request(
    found: SCIMConnection, params: dict[str, object], agree: bool
) -> None:
    assert fits_request(found, params) is agree


def test_rotation_and_role_assignments_are_read_off_the_connection() -> None:
    rotating = evidence_for(
        connection(next_bearer_token_last_four="wxyz"),
        REQUEST,
        in_doubt=True,
        proven_absent=False,
        recover_token=True,
    )
    assert rotating.rotating and not rotating.assigned
    assert decide(rotating) is Verdict.EXISTS
    assigned = evidence_for(
        connection(
            scim_group_implicit_role_assignments=(
                SCIMGroupImplicitRoleAssignment(role_id="r", group_id="g"),
            )
        ),
        REQUEST,
        in_doubt=True,
        proven_absent=True,
        recover_token=True,
    )
    assert assigned.assigned and not assigned.rotating
    assert decide(assigned) is Verdict.EXISTS


def test_a_deleted_connection_is_no_connection() -> None:
    evidence = evidence_for(
        connection(status="deleted"), REQUEST, in_doubt=True, proven_absent=True, recover_token=True
    )
    assert decide(evidence) is Verdict.POST_AGAIN
    assert (
        decide(evidence_for(None, REQUEST, in_doubt=True, proven_absent=True, recover_token=True))
        is Verdict.POST_AGAIN
    )


def test_evidence_for_carries_what_the_call_knows() -> None:
    evidence = evidence_for(
        connection(), REQUEST, in_doubt=True, proven_absent=False, recover_token=True
    )
    assert evidence == Evidence(
        answered=True,
        active=True,
        in_doubt=True,
        proven_absent=False,
        fields_agree=True,
        recover_token=True,
    )
    assert decide(evidence) is Verdict.TOKEN_LOST
