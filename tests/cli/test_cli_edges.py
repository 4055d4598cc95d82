"""The paths a happy run never takes: interrupts, full disks, odd files, half rotations."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import pytest

import stytch_scim_async as scim
import stytch_scim_async.testing as testing
from stytch_scim_async._cli import provision as _cli_provision
from stytch_scim_async._cli.batch import graceful_stop, run_batch
from stytch_scim_async._cli.demo import DemoReport, verify
from stytch_scim_async._cli.inputs import InputError, parse_requests
from stytch_scim_async._cli.results import ResultsFile, ResultsFileError
from stytch_scim_async._cli.tally import Tally, plan

from .conftest import Cli, ThreadedEmulator

ORG = "organization-test-edges"


def csv_file(tmp_path: Path, count: int = 3) -> Path:
    """A small valid CSV input."""
    path = tmp_path / "orgs.csv"
    rows = [f"{ORG}-{n},," for n in range(count)]
    path.write_text("organization_id,display_name,identity_provider\n" + "\n".join(rows) + "\n")
    return path


def test_emulator_command_delegates_to_the_emulators_own_cli(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[Sequence[str], str]] = []

    def fake_main(argv: Sequence[str], out: TextIO, prog: str) -> int:
        seen.append((argv, prog))
        out.write("base_url=http://127.0.0.1:1\n")  # the environment's stdout
        return 0

    monkeypatch.setattr(testing, "main", fake_main)
    result = cli("emulator", "--port", "0", "--p-html-502", "0.1", "--help", api=False)
    assert result.exit_code == 0, result.output
    assert seen == [(["--port", "0", "--p-html-502", "0.1", "--help"], "stytch-scim emulator")]
    assert result.stdout == "base_url=http://127.0.0.1:1\n"


def test_rotate_that_starts_but_cannot_complete_says_how_to_undo(
    cli: Cli, emulator: ThreadedEmulator
) -> None:
    created = cli("create", ORG)
    assert created.exit_code == 0, created.output
    connection_id = created.stdout.split('"connection_id": "')[1].split('"')[0]
    emulator.script(fault="500_before_commit", route="rotate_complete", times=10)
    result = cli("rotate", ORG, connection_id)
    assert result.exit_code == 1
    assert result.stdout == ""  # the next token, never active, is not shown
    assert f"stytch-scim rotate {ORG} {connection_id} --cancel" in result.stderr
    assert "internal_server_error" in result.stderr


def test_verbose_twice_logs_once(cli: Cli, emulator: ThreadedEmulator) -> None:
    emulator.script(fault="500_before_commit", route="get")
    result = cli("-v", "get", ORG, "-v")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("retrying get") == 1


def test_unreadable_input_and_special_out_files(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    unreadable = cli("provision", str(folder), "--out", str(tmp_path / "o.jsonl"))
    assert unreadable.exit_code == 2
    assert "cannot read" in unreadable.stderr
    device = cli("provision", str(csv_file(tmp_path)), "--out", os.devnull)
    assert device.exit_code == 2
    assert "is not a regular file" in device.stderr


def test_results_file_that_cannot_be_made_private_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "shared.jsonl"
    path.write_text("")
    path.chmod(0o640)

    def refuse(fd: int, mode: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "fchmod", refuse)
    with pytest.raises(ResultsFileError, match="cannot be made private"):
        ResultsFile(str(path), "project-test-edges")


def test_csv_header_problems() -> None:
    with pytest.raises(InputError, match=r"x.csv:1: malformed CSV"):
        parse_requests("x.csv", b'"organization_id\n', "csv")
    header = b"organization_id,organization_id,display_name,identity_provider\n"
    with pytest.raises(InputError, match="column 'organization_id' appears more than once"):
        parse_requests("x.csv", header, "csv")


def test_a_full_disk_stops_the_batch_with_advice(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: ResultsFile, records: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ResultsFile, "write_many", full)
    result = cli("provision", str(csv_file(tmp_path)), "--out", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 1
    assert "cannot write" in result.stderr and "No space left on device" in result.stderr
    assert emulator.count("create") == 0  # nothing is sent that could not be recorded


def test_keyboard_interrupt_exits_130(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def interrupted(*args: Any, **kwargs: Any) -> Tally:
        raise KeyboardInterrupt

    monkeypatch.setattr(_cli_provision, "run_batch", interrupted)
    result = cli("provision", str(csv_file(tmp_path)), "--out", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 130
    assert "rerun the same command to resume" in result.stderr


def test_a_stop_before_the_first_create_sends_nothing(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextlib.asynccontextmanager
    async def stopped(notify: Callable[[str], None]) -> AsyncIterator[asyncio.Event]:
        event = asyncio.Event()
        event.set()
        yield event

    monkeypatch.setattr(_cli_provision, "graceful_stop", stopped)
    result = cli("provision", str(csv_file(tmp_path)), "--out", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
    assert "rerun the same command to resume" in result.stderr
    assert emulator.total_requests() == 0


async def test_run_batch_finishes_what_is_in_flight_once_stopped(
    emulator: ThreadedEmulator,
) -> None:
    stop = asyncio.Event()
    requests = [scim.ProvisionRequest(f"{ORG}-{n}") for n in range(20)]
    todo, tally = plan(requests, None)
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url
    ) as client:
        tally = await run_batch(
            client,
            todo,
            tally,
            results=None,
            concurrency=2,
            check=lambda _: stop.set(),
            stop=stop,
        )
    assert tally.interrupted
    finished = tally.counts["created"]
    assert 1 <= finished < 20
    assert emulator.count("create") == finished  # none started, none abandoned


async def test_first_signal_stops_second_abandons() -> None:
    messages: list[str] = []
    stopped = asyncio.Event()

    async def batch() -> None:
        async with graceful_stop(messages.append) as stop:
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.wait_for(stop.wait(), 5)
            stopped.set()
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(5)

    task = asyncio.create_task(batch())
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stopped.is_set()
    assert messages[0].startswith("stopping: finishing the creates in flight")
    assert messages[1].startswith("abandoning the creates in flight")


def test_verify_counts_wrong_and_orphaned_tokens() -> None:
    request = scim.ProvisionRequest(ORG)
    report = DemoReport(tally=Tally(total=3))
    failed = scim.ProvisionOutcome(request, scim.ProvisionStatus.FAILED)
    verify(report, failed, None)
    assert (report.mismatches, report.orphans) == (0, 0)
    verify(report, failed, "token-the-emulator-accepts")
    assert report.orphans == 1
    no_connection = scim.ProvisionOutcome(request, scim.ProvisionStatus.CREATED)
    verify(report, no_connection, "token-the-emulator-accepts")
    assert report.mismatches == 1
