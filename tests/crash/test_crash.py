"""SIGKILL `stytch-scim provision` mid-batch, again and again: no token is ever lost.

CI kills a 300-organization run three times (`CRASH_ORGS`, `CRASH_KILLS`,
`CRASH_LATENCY` make it bigger; `nox -s crash` runs 2,000 organizations and ten
kills). Pre-existing connections are seeded first; after the last rerun every
organization must have exactly one connection, and the results file the token
Stytch accepts for it; no pre-existing connection may have been rotated.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from .harness import emulator, run_with_kills, seed_connections, verify, write_input

ORGS = int(os.environ.get("CRASH_ORGS", "300"))
KILLS = int(os.environ.get("CRASH_KILLS", "3"))
LATENCY = float(os.environ.get("CRASH_LATENCY", "0.3"))
SEED = int(os.environ.get("CRASH_SEED", "5"))
#: The suite-wide 60 s is for the CI size (about 15 s); the `nox -s crash` size needs
#: about a minute of runs and reruns, so the limit grows with the size.
pytestmark = pytest.mark.timeout(60 + ORGS // 10 + 10 * KILLS)


def test_sigkill_mid_batch_loses_no_token(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    preexisting_orgs = sorted(rng.sample(range(ORGS), max(4, ORGS // 25)))
    source = write_input(tmp_path / "orgs.csv", ORGS)
    out = tmp_path / "results.jsonl"
    with emulator(latency=LATENCY, seed=SEED) as served:
        preexisting = seed_connections(served, preexisting_orgs)
        runs = run_with_kills(served, source, out, kills=KILLS, rng=rng, max_delay=3 * LATENCY)
        verdict = verify(served, out, ORGS, preexisting)
    print(  # the record (pytest -s)
        f"\ncrash: {ORGS} orgs, {runs.kills} kills, exits {runs.statuses}, "
        f"{runs.elapsed:.1f} s; first done statuses {verdict.statuses}; "
        f"lost {len(verdict.lost)} ({len(verdict.lost) / max(1, runs.kills):.2f} per kill), "
        f"pre-existing rotated {len(verdict.rotated)}, wrong tokens {len(verdict.wrong)}, "
        f"creates committed {verdict.creates_committed}, duplicates refused "
        f"{verdict.duplicates}, pending lines {verdict.pending_lines}"
    )
    assert runs.kills == KILLS
    assert runs.statuses[-1] == 0
    assert verdict.missing == []
    assert verdict.lost == []
    assert verdict.rotated == []
    assert verdict.wrong == []
    # Exactly one connection each: one create committed per organization, ever.
    assert verdict.creates_committed == ORGS
    assert verdict.statuses == {
        "created": verdict.statuses.get("created", 0),
        "recovered": verdict.statuses.get("recovered", 0),
        "already_exists": len(preexisting),
    }
