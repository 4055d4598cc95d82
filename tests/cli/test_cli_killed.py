"""A run killed mid-batch leaves `pending` lines; the rerun settles each of them by
reconciling, never by a blind create, and never calls a connection of its own
"already existing"."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import stytch_scim_async as scim
from stytch_scim_async.testing import Faults

from .conftest import Cli, ThreadedEmulator
from .files import assert_tokens_match, header_line, pending, results


def org(n: int) -> str:
    """A test organization id."""
    return f"organization-test-killed-{n:04d}"


def source(tmp_path: Path, count: int) -> Path:
    """An input file with `count` organizations ("Org n", okta)."""
    rows = "".join(f"{org(n)},Org {n},okta\n" for n in range(count))
    path = tmp_path / "orgs.csv"
    path.write_text("organization_id,display_name,identity_provider\n" + rows)
    return path


def left_by_a_kill(tmp_path: Path, emulator: ThreadedEmulator, *lines: dict[str, Any]) -> Path:
    """The results file a killed run for the emulator's project left behind."""
    out = tmp_path / "out.jsonl"
    out.write_text(header_line(emulator.project_id) + "".join(json.dumps(x) + "\n" for x in lines))
    out.chmod(0o600)
    return out


def intent(n: int, proven_absent: bool = True) -> dict[str, Any]:
    """The pending line of org(n)'s create."""
    return {
        "kind": "pending",
        "organization_id": org(n),
        "display_name": f"Org {n}",
        "identity_provider": "okta",
        "proven_absent": proven_absent,
    }


def test_pending_creates_that_committed_are_recovered_not_already_existing(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    # org(0) and org(1): their creates committed before the kill (the replies never
    # arrived); org(2)'s never did; org(3) was never started.
    for n in (0, 1):
        emulator.add_connection(org(n), display_name=f"Org {n}", identity_provider="okta")
    out = left_by_a_kill(tmp_path, emulator, intent(0), intent(1), intent(2))
    result = cli("provision", str(source(tmp_path, 4)), "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = {row["organization_id"]: row for row in results(out)}
    assert [rows[org(n)]["status"] for n in range(4)] == [
        "recovered",
        "recovered",
        "created",
        "created",
    ]
    for n in range(4):
        assert rows[org(n)]["bearer_token"] == emulator.active_token(org(n))
    assert emulator.call(lambda: emulator.emu.stats.duplicates) == 0  # no blind create
    assert emulator.count("create") == 2


def test_a_failure_after_a_pending_line_is_reconciled(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    emulator.add_connection(org(0), display_name="Org 0", identity_provider="okta")
    failed = {"kind": "result", "organization_id": org(0), "status": "failed"}
    out = left_by_a_kill(tmp_path, emulator, intent(0), failed)
    result = cli("provision", str(source(tmp_path, 1)), "--out", str(out))
    assert result.exit_code == 0, result.output
    last = results(out)[-1]
    assert last["status"] == "recovered"
    assert last["bearer_token"] == emulator.active_token(org(0))
    assert emulator.count("create") == 0


def test_interrupt_finishes_the_creates_in_flight(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    # With latency, a create commits long before its answer: abandoning it on Ctrl-C
    # would leave a connection whose token nobody holds.
    emulator.set_faults(Faults(latency=0.2))
    path = source(tmp_path, 40)
    out = tmp_path / "out.jsonl"
    process = cli.spawn("provision", str(path), "--out", str(out), "--concurrency", "4")
    deadline = time.monotonic() + 20
    while not (out.exists() and '"kind": "result"' in out.read_text()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 130, stderr
    assert stdout == ""
    assert "stopping: finishing the creates in flight" in stderr
    assert "rerun the same command to resume" in stderr
    rows = results(out)
    assert 0 < len(rows) < 40
    assert_tokens_match(emulator, rows)
    recorded = {row["organization_id"] for row in rows}
    assert recorded <= {line["organization_id"] for line in pending(out)}
    for n in range(40):  # every connection that exists has its token on file
        assert (emulator.active_token(org(n)) is not None) == (org(n) in recorded)
    emulator.set_faults(Faults())
    rerun = cli("provision", str(path), "--out", str(out))
    assert rerun.exit_code == 0, rerun.output
    assert len(results(out)) == 40
    assert_tokens_match(emulator, results(out))


def test_a_second_interrupt_leaves_pending_lines_the_rerun_settles(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    emulator.set_faults(Faults(latency=0.3))
    path = source(tmp_path, 60)
    out = tmp_path / "out.jsonl"
    process = cli.spawn("provision", str(path), "--out", str(out), "--concurrency", "16")
    deadline = time.monotonic() + 20
    while not (out.exists() and '"kind": "pending"' in out.read_text()):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 130, stderr
    assert stdout == ""
    assert "abandoning the creates in flight" in stderr
    sent = {line["organization_id"] for line in pending(out)}
    assert sent
    emulator.set_faults(Faults())
    rerun = cli("provision", str(path), "--out", str(out))
    assert rerun.exit_code == 0, rerun.output
    first: dict[str, dict[str, Any]] = {}
    for row in results(out):
        if row["status"] in ("created", "recovered"):
            first.setdefault(row["organization_id"], row)
    assert set(first) == {org(n) for n in range(60)}
    for organization_id, row in first.items():
        assert row["bearer_token"] == emulator.active_token(organization_id)
    assert "already had a connection: 0" in " ".join(rerun.stderr.split())


def start_rotation(emulator: ThreadedEmulator, n: int, connection_id: str) -> None:
    """Start a rotation of org(n)'s connection and forget its token (a killed recovery)."""

    async def start() -> None:
        async with scim.SCIMClient(
            emulator.project_id, emulator.secret, base_url=emulator.base_url
        ) as client:
            await client.rotate_start(org(n), connection_id)

    emulator.run(start())


def test_a_recovery_cut_by_a_kill_is_cancelled_and_done_again(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    # The create committed, then the recovery's rotate start did, then the kill: the
    # connection is ours (proven absent first), mid-rotation, and nobody holds a token.
    made = emulator.add_connection(org(0), display_name="Org 0", identity_provider="okta")
    start_rotation(emulator, 0, made["connection_id"])
    out = left_by_a_kill(tmp_path, emulator, intent(0))
    result = cli("provision", str(source(tmp_path, 1)), "--out", str(out))
    assert result.exit_code == 0, result.output
    last = results(out)[-1]
    assert last["status"] == "recovered"
    assert last["bearer_token"] == emulator.active_token(org(0))
    assert emulator.count("rotate_cancel") == 1


def test_a_rotation_on_a_connection_not_proven_ours_is_not_cancelled(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    made = emulator.add_connection(org(0), display_name="Org 0", identity_provider="okta")
    start_rotation(emulator, 0, made["connection_id"])
    out = left_by_a_kill(tmp_path, emulator, intent(0, proven_absent=False))
    result = cli("provision", str(source(tmp_path, 1)), "--out", str(out))
    assert result.exit_code == 1, result.output
    assert emulator.count("rotate_cancel") == emulator.count("rotate_start") - 1 == 0
    assert emulator.active_token(org(0)) == made["bearer_token"]


def test_a_rotation_left_by_a_kill_that_cannot_be_cancelled_waits(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    made = emulator.add_connection(org(0), display_name="Org 0", identity_provider="okta")
    start_rotation(emulator, 0, made["connection_id"])
    out = left_by_a_kill(tmp_path, emulator, intent(0))
    emulator.script(fault="500_before_commit", route="rotate_cancel", times=100)
    result = cli("provision", str(source(tmp_path, 1)), "--out", str(out))
    assert result.exit_code == 1, result.output
    assert f"failed: {org(0)}: its connection could not be checked" in result.stderr
    assert results(out) == []  # still pending: the next run looks again
    assert emulator.count("create") == emulator.count("rotate_start") - 1 == 0
