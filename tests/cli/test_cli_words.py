"""The progress line and the summary: one vocabulary, the same numbers, every status;
and `-v`: every retry line names its organization, and recoveries are logged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stytch_scim_async._cli.display import STATUS_WORDS

from .conftest import Cli, ThreadedEmulator
from .files import results
from .mock_env import MockEnvironment, run_main

ORG = "organization-test-words"


def org(n: int) -> str:
    """A test organization id."""
    return f"{ORG}-{n:02d}"


def mixed_batch(emulator: ThreadedEmulator, tmp_path: Path) -> Path:
    """Twelve organizations that end in every status: created, recovered (a lost
    reply), unconfirmed (a lost reply whose recovery cannot complete), already had a
    connection, failed (an IdP Stytch refuses)."""
    emulator.script(fault="500_after_commit", route="create", organization_id=org(1))
    emulator.script(fault="500_after_commit", route="create", organization_id=org(2))
    emulator.script(
        fault="500_before_commit", route="rotate_complete", organization_id=org(2), times=50
    )
    emulator.add_connection(org(3))
    path = tmp_path / "orgs.csv"
    rows = [f"{org(n)},,{'no-such-idp' if n == 4 else 'okta'}" for n in range(12)]
    path.write_text("organization_id,display_name,identity_provider\n" + "\n".join(rows) + "\n")
    return path


def progress_counts(stderr: str, label: str) -> dict[str, int]:
    """Status word -> number, from the last plain progress line."""
    line = [line for line in stderr.splitlines() if line.startswith(f"{label}: ")][-1]
    words = "|".join(re.escape(word) for word in STATUS_WORDS.values())
    return {word: int(n) for n, word in re.findall(rf"(\d+) ({words})(?=,|$)", line)}


def summary_counts(text: str) -> dict[str, int]:
    """Status word -> number, from the plain summary's `word: number (note)` rows."""
    found = {}
    for word in STATUS_WORDS.values():
        match = re.search(rf"^  {re.escape(word)}:\s+(\d+)", text, re.MULTILINE)
        if match is not None:
            found[word] = int(match.group(1))
    return found


@pytest.mark.usefixtures("quick_retries")
def test_progress_and_summary_agree_on_every_status(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    result = cli("provision", str(mixed_batch(emulator, tmp_path)), "--out", str(out))
    assert result.exit_code == 1, result.output
    progress = progress_counts(result.stderr, "provision")
    assert progress == summary_counts(result.stderr)
    assert progress == {
        "created": 8,
        "recovered": 1,
        "unconfirmed": 1,
        "already had a connection": 1,
        "failed": 1,
    }
    statuses = sorted(row["status"] for row in results(out))
    assert statuses.count("created") == 8 and statuses.count("unconfirmed") == 1


def test_the_demo_counts_in_the_same_words(tmp_path: Path) -> None:
    result = run_main(["demo", "--orgs", "30", "--seed", "2"], MockEnvironment())
    assert result.exit_code == 0, result.output
    progress = progress_counts(result.stderr, "demo")
    assert progress == summary_counts(result.stdout)
    assert set(progress) == {"created", "recovered", "already had a connection", "failed"}
    assert sum(progress.values()) == 30


@pytest.mark.usefixtures("quick_retries")
def test_verbose_names_the_organization_of_every_retry_and_logs_recoveries(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    emulator.script(fault="500_before_commit", route="create", organization_id=org(5))
    out = tmp_path / "out.jsonl"
    result = cli("-v", "provision", str(mixed_batch(emulator, tmp_path)), "--out", str(out))
    assert result.exit_code == 1, result.output
    retries = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert retries, result.stderr
    for line in retries:
        assert re.search(rf"\[organization {ORG}-\d\d\]$", line), line
    assert any("retrying create" in line and org(5) in line for line in retries), retries
    assert (
        f"INFO stytch_scim_async.cli: {org(1)}: recovered: the create's reply was lost; "
        "connection scim-connection-test-"
    ) in result.stderr
    assert f"WARNING stytch_scim_async.cli: {org(2)}: unconfirmed: " in result.stderr
    for row in results(out):  # tokens stay in the file
        if row["bearer_token"]:
            assert row["bearer_token"] not in result.stderr


def test_verbose_logs_a_single_creates_recovery_without_its_token(
    cli: Cli, emulator: ThreadedEmulator
) -> None:
    emulator.script(fault="500_after_commit", route="create", organization_id=org(0))
    result = cli("-v", "create", org(0))
    assert result.exit_code == 0, result.output
    token = json.loads(result.stdout)["connection"]["bearer_token"]
    assert token == emulator.active_token(org(0))
    recovered = [line for line in result.stderr.splitlines() if "recovered:" in line]
    assert len(recovered) == 1, result.stderr
    assert recovered[0].startswith("INFO stytch_scim_async.cli: recovered: the create's reply")
    assert recovered[0].endswith(f"[organization {org(0)}]")
    assert token not in result.stderr
