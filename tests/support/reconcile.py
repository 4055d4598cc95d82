"""The reconcile table's named rows: one case table, two drivers (the pure function in
tests/policy/test_reconcile.py, the client over HTTP against the emulator in
tests/engine/test_token_safety.py)."""

from __future__ import annotations

import attrs

from stytch_scim_async._policy.reconcile import Evidence, Verdict

__all__ = ["ROWS", "Row"]


@attrs.frozen
class Row:
    """One decision: a name, the evidence, the verdict."""

    name: str
    evidence: Evidence
    verdict: Verdict


_OURS = Evidence(
    answered=True,
    active=True,
    in_doubt=True,
    proven_absent=True,
    fields_agree=True,
    recover_token=True,
)

ROWS = (
    Row("the look failed", Evidence(answered=False), Verdict.UNKNOWN),
    Row("no connection: post again", Evidence(answered=True), Verdict.POST_AGAIN),
    Row("ours: proven absent, in doubt, fresh and fitting", _OURS, Verdict.RECOVER),
    Row(
        "fitting but absence never proven",
        attrs.evolve(_OURS, proven_absent=False),
        Verdict.TOKEN_LOST,
    ),
    Row(
        "ours but no leave to rotate",
        attrs.evolve(_OURS, recover_token=False),
        Verdict.TOKEN_LOST,
    ),
    Row(
        "no attempt may have committed",
        attrs.evolve(_OURS, in_doubt=False),
        Verdict.EXISTS,
    ),
    Row("a named field differs", attrs.evolve(_OURS, fields_agree=False), Verdict.EXISTS),
    Row("with role assignments", attrs.evolve(_OURS, assigned=True), Verdict.EXISTS),
    Row(
        "mid-rotation, absence never proven",
        attrs.evolve(_OURS, rotating=True, proven_absent=False),
        Verdict.EXISTS,
    ),
    Row(
        "mid-rotation, proven ours: a recovery cut short",
        attrs.evolve(_OURS, rotating=True),
        Verdict.RECOVER,
    ),
)
