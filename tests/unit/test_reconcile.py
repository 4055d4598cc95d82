"""The reconcile table, tested as a table (its replay over HTTP is in
tests/integration/test_token_safety.py, driven by the same rows)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from stytch_scim_async._reconcile import Evidence, Verdict, decide, evidence_for, fits_request
from stytch_scim_async.models import SCIMConnection, SCIMGroupImplicitRoleAssignment

from ..support_reconcile import ROWS, Row

FIELDS = (
    "answered",
    "active",
    "in_doubt",
    "proven_absent",
    "fields_agree",
    "fresh",
    "recover_token",
)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_each_named_row(row: Row) -> None:
    assert decide(row.evidence) is row.verdict


def test_the_rule_over_every_combination() -> None:
    """Rotation happens for exactly one combination of evidence; no other verdict is
    reachable where the table says it is not."""
    for values in itertools.product((False, True), repeat=len(FIELDS)):
        evidence = Evidence(**dict(zip(FIELDS, values, strict=True)))
        verdict = decide(evidence)
        if not evidence.answered:
            assert verdict is Verdict.UNKNOWN
        elif not evidence.active:
            assert verdict is Verdict.POST_AGAIN
        elif all(values):
            assert verdict is Verdict.RECOVER
        elif evidence.in_doubt and evidence.fields_agree and evidence.fresh:
            # Maybe ours, but without proof of absence (or without leave to rotate).
            assert verdict is Verdict.TOKEN_LOST
        else:
            assert verdict is Verdict.EXISTS


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
    ("found", "params", "agree", "fresh"),
    [
        (connection(), REQUEST, True, True),
        (connection(identity_provider="generic"), REQUEST, False, True),
        (connection(display_name="Legacy Okta"), REQUEST, False, True),
        (connection(next_bearer_token_last_four="wxyz"), REQUEST, True, False),
        (
            connection(
                scim_group_implicit_role_assignments=(
                    SCIMGroupImplicitRoleAssignment(role_id="r", group_id="g"),
                )
            ),
            REQUEST,
            True,
            False,
        ),
        # An omitted field can neither agree nor refute: only proof of absence
        # (not the fields) can make such a connection ours.
        (connection(display_name="Legacy Okta"), {**REQUEST, "display_name": None}, True, True),
    ],
)
def test_what_counts_as_fitting_the_request(
    found: SCIMConnection, params: dict[str, object], agree: bool, fresh: bool
) -> None:
    assert fits_request(found, params) == (agree, fresh)


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
        fresh=True,
        recover_token=True,
    )
    assert decide(evidence) is Verdict.TOKEN_LOST
