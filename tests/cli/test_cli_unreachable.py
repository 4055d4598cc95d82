"""A base URL where nothing answers: the batch stops early, and a rerun loses nothing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import stytch_scim_async as scim
from stytch_scim_async import errors
from stytch_scim_async._cli.batch import UNREACHABLE_AFTER, Reachability

from .conftest import Cli, ThreadedEmulator
from .files import assert_tokens_match, pending, results

ORGS = 60


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound, never listening, so no
    other process can take it while the test runs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def csv_file(tmp_path: Path) -> Path:
    """ORGS organizations."""
    path = tmp_path / "orgs.csv"
    rows = [f"organization-test-unreachable-{n:03d},," for n in range(ORGS)]
    path.write_text("organization_id,display_name,identity_provider\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.usefixtures("quick_retries")
def test_nothing_reachable_stops_early_and_the_rerun_does_everything(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, closed_port: int
) -> None:
    source, out = csv_file(tmp_path), tmp_path / "out.jsonl"
    args = ("provision", str(source), "--out", str(out), "--concurrency", "4")
    stopped = cli(*args, "--base-url", f"http://127.0.0.1:{closed_port}", api=False)
    assert stopped.exit_code == 3, stopped.output
    assert f"stopped: Stytch could not be reached at http://127.0.0.1:{closed_port}" in (
        stopped.stderr
    )
    failed = results(out)
    # The first few failed to connect, and those in flight then were finished; the
    # rest were never attempted: not in the file, neither failed nor pending.
    assert UNREACHABLE_AFTER <= len(failed) <= UNREACHABLE_AFTER + 4
    assert {row["status"] for row in failed} == {"failed"}
    assert {row["error_type"] for row in failed} == {"ConnectError"}
    assert not any(row["may_have_committed"] for row in failed)
    attempted = {row["organization_id"] for row in failed}
    assert {line["organization_id"] for line in pending(out)} == attempted
    rows = dict(line.split(":", 1) for line in stopped.stderr.splitlines() if ":" in line)
    assert rows["  not attempted"].strip() == str(ORGS - len(failed))

    # Stytch is back: the rerun reconciles the attempted ones and creates the rest.
    rerun = cli(*args)
    assert rerun.exit_code == 0, rerun.output
    done = [row for row in results(out) if row["status"] != "failed"]
    assert sorted(row["organization_id"] for row in done) == sorted(
        f"organization-test-unreachable-{n:03d}" for n in range(ORGS)
    )
    assert_tokens_match(emulator, done)
    assert emulator.count("create") == ORGS


@pytest.mark.usefixtures("quick_retries")
def test_a_single_call_to_nothing_exits_3(cli: Cli, closed_port: int) -> None:
    result = cli(
        "get", "organization-test-a", "--base-url", f"http://127.0.0.1:{closed_port}", api=False
    )
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("error: ConnectError: ")


def outcome(error: errors.StytchSCIMError | None) -> scim.ProvisionOutcome:
    """A finished organization, failed with `error` (or created)."""
    status = scim.ProvisionStatus.CREATED if error is None else scim.ProvisionStatus.FAILED
    return scim.ProvisionOutcome(scim.ProvisionRequest("organization-test-a"), status, None, error)


def refused() -> errors.ConnectError:
    """A connection refused: the request never reached Stytch."""
    return errors.ConnectError("create: could not connect")


def test_the_docs_name_the_threshold() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
    assert UNREACHABLE_AFTER == 3
    assert "When the first three organizations all fail" in docs.read_text(encoding="utf-8")


def test_only_refusals_with_nothing_reached_count() -> None:
    reach = Reachability()
    assert [reach.unreachable_after(outcome(refused())) for _ in range(3)] == [False, False, True]
    # A duplicate (refused locally) proves nothing either way.
    reach = Reachability()
    duplicate = errors.InvalidRequestError("requests", "appears more than once")
    assert not reach.unreachable_after(outcome(refused()))
    assert not reach.unreachable_after(outcome(duplicate))
    assert not reach.unreachable_after(outcome(refused()))
    assert reach.unreachable_after(outcome(refused()))


@pytest.mark.parametrize(
    "answer",
    [
        None,  # one organization created: Stytch is there
        errors.ServerError(status_code=500, error_type="internal_server_error"),
        # A timeout may hide a create that committed: Stytch may well be there, and
        # that organization keeps its pending line for the rerun to reconcile.
        errors.RequestTimeoutError("create: timed out"),
    ],
    ids=["created", "500", "timeout"],
)
def test_anything_but_a_refusal_shows_stytch_reachable_for_good(
    answer: errors.StytchSCIMError | None,
) -> None:
    reach = Reachability()
    assert not reach.unreachable_after(outcome(refused()))
    assert not reach.unreachable_after(outcome(answer))
    assert not any(reach.unreachable_after(outcome(refused())) for _ in range(10))
