"""`stytch-scim demo`: a faulty emulator, every token verified, in a few seconds."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from click.testing import CliRunner

from stytch_scim_async._cli.app import app
from stytch_scim_async._cli.demo import (
    DemoConfig,
    DemoReport,
    demo_faults,
    demo_requests,
    verdict,
)
from stytch_scim_async._cli.tally import Tally

from .files import pending, results


def value(stdout: str, label: str) -> str:
    """The value of one `label: value` row of the plain summary."""
    match = re.search(rf"^\s*{re.escape(label)}:\s+(.*)$", stdout, re.MULTILINE)
    assert match is not None, stdout
    return match.group(1).strip()


def test_demo_passes_and_writes_private_results(tmp_path: Path) -> None:
    out = tmp_path / "demo.jsonl"
    result = CliRunner().invoke(
        app, ["demo", "--orgs", "40", "--seed", "1", "--out", str(out)], prog_name="stytch-scim"
    )
    assert result.exit_code == 0, result.output
    assert value(result.stdout, "token mismatches") == "0"
    assert value(result.stdout, "connections without a held token") == "0"
    assert value(result.stdout, "failed") == "0"
    assert (
        int(value(result.stdout, "created"))
        + int(value(result.stdout, "recovered").removesuffix(" (token re-issued)"))
        == 40
    )
    assert int(value(result.stdout, "faults injected")) > 0
    assert "request amplification" in result.stdout
    assert "PASS: every token verified" in result.stdout
    assert "demo: 40/40 done" in result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = results(out)
    assert len(rows) == 40
    assert {line["organization_id"] for line in pending(out)} >= {
        r["organization_id"] for r in rows
    }
    tokens = [row["bearer_token"] for row in rows]
    assert all(tokens)
    assert not any(token in result.stdout + result.stderr for token in tokens)


def test_demo_inputs_are_reproducible_and_the_fault_mix_is_broad() -> None:
    config = DemoConfig(orgs=5, seed=3)
    assert demo_requests(config) == demo_requests(config)
    assert demo_requests(config) != demo_requests(DemoConfig(orgs=5, seed=4))
    assert all(r.organization_id.startswith("organization-test-") for r in demo_requests(config))
    faults = demo_faults(config)
    assert faults.rate_limit == 200.0
    assert faults.stall_seconds > config.timeout  # stalls become client timeouts
    assert faults.p_500_after_commit > 0 and faults.p_drop_after_commit > 0


def test_demo_fails_on_any_mismatch_or_lost_token() -> None:
    tally = Tally(total=1)
    tally.counts["created"] = 1
    assert DemoReport(tally=tally).ok
    assert verdict(DemoReport(tally=tally)).startswith("PASS")
    assert not DemoReport(tally=tally, mismatches=1).ok
    assert "differ" in verdict(DemoReport(tally=tally, mismatches=1))
    assert not DemoReport(tally=tally, orphans=1).ok
    tally.counts["failed"] = 1
    assert not DemoReport(tally=tally).ok
    dry = DemoReport(tally=tally, budget_left=3, budget_capacity=500)
    assert "retry budget ran dry" in verdict(dry)
    healthy = DemoReport(tally=tally, budget_left=500, budget_capacity=500)
    assert verdict(healthy) == "FAIL: some organizations failed (see above)"


def test_demo_options_are_validated() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["demo", "--orgs", "0"]).exit_code == 2
    assert runner.invoke(app, ["demo", "--fault-rate", "0.5"]).exit_code == 2
