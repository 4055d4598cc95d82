"""The results file's promises, each checked where it could be broken: private from
the first byte, every line fsync'd, a `pending` line on disk before its create is
sent, the first done line winning, one project per file, one set of numbers."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from stytch_scim_async._cli.results import ResultsFile
from stytch_scim_async.testing import FakeResponse, Faults

from .conftest import Cli, ThreadedEmulator
from .files import header_line, pending, results

PROJECT = "project-test-durability"


def org(n: int) -> str:
    """A test organization id."""
    return f"organization-test-durable-{n:04d}"


def csv(path: Path, count: int) -> Path:
    """An input file with `count` organizations."""
    rows = "".join(f"{org(n)},Org {n},okta\n" for n in range(count))
    path.write_text("organization_id,display_name,identity_provider\n" + rows)
    return path


def test_the_results_file_is_created_private(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its mode is read the instant it exists: a file created 0644 and fixed by a later
    # chmod is readable by others in between.
    out = tmp_path / "out.jsonl"
    real_open = os.open
    modes: list[int] = []

    def watching(path: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        existed = os.path.exists(path)
        fd = real_open(path, flags, mode, *args, **kwargs)
        if os.fspath(path) == str(out) and not existed:
            modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return fd

    monkeypatch.setattr(os, "open", watching)
    previous = os.umask(0o022)
    try:
        result = cli("provision", str(csv(tmp_path / "a.csv", 2)), "--out", str(out))
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert modes == [0o600]


class SyncWatch:
    """Records, for one file, how many bytes were on disk at its latest fsync."""

    def __init__(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = path
        self.calls = 0
        self.synced = 0
        self._lock = threading.Lock()
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            real_fsync(fd)
            info = os.fstat(fd)
            if path.exists() and os.path.samestat(info, path.stat()):
                with self._lock:
                    self.calls += 1
                    self.synced = max(self.synced, info.st_size)

        monkeypatch.setattr(os, "fsync", fsync)


def test_every_write_is_fsyncd_before_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.jsonl"
    watch = SyncWatch(path, monkeypatch)
    with ResultsFile(str(path), PROJECT) as out:
        for n in range(3):
            out.write({"kind": "result", "organization_id": org(n), "status": "created"})
            assert watch.synced == path.stat().st_size
        out.write_many([{"kind": "pending", "organization_id": org(n)} for n in range(5)])
        assert watch.synced == path.stat().st_size
    assert watch.calls == 4  # one per write; the five pending lines shared one


def test_a_pending_line_is_on_disk_before_its_create_is_sent(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.jsonl"
    watch = SyncWatch(out, monkeypatch)
    fake = emulator.emu.fake
    original = fake.handle
    posts: list[str] = []
    problems: list[str] = []

    def handle(
        method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> FakeResponse:
        # On the emulator's thread, the moment a create arrives: its organization's
        # pending line must already be in the part of the file an fsync covered.
        if method == "POST" and path.endswith("/connection"):
            organization_id = path.split("/")[-2]
            posts.append(organization_id)
            data = out.read_bytes() if out.exists() else b""
            end = 0
            for line in data.splitlines(keepends=True):
                end += len(line)
                record = json.loads(line) if line.strip().endswith(b"}") else {}
                if record.get("kind") == "pending" and record["organization_id"] == organization_id:
                    break
            else:
                problems.append(f"{organization_id}: no pending line when its create arrived")
            if end > watch.synced:
                problems.append(f"{organization_id}: its pending line was not fsync'd yet")
        return original(method, path, query, headers, body)

    monkeypatch.setattr(fake, "handle", handle)
    emulator.set_faults(Faults(latency=0.02))
    emulator.script(fault="500_after_commit", route="create", times=3)
    result = cli(
        "provision", str(csv(tmp_path / "a.csv", 40)), "--out", str(out), "--concurrency", "8"
    )
    assert result.exit_code == 0, result.output
    assert len(posts) >= 40
    assert problems == []
    # Grouped: the creates that start together share one fsync, but no more than that.
    assert watch.calls <= 40 + 40 - 7  # 40 results; the first 8 pending lines share one


def test_the_first_done_line_wins_on_a_rerun(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    first = {"kind": "result", "organization_id": org(0), "status": "created", "bearer_token": "t"}
    later = {"kind": "result", "organization_id": org(0), "status": "already_exists"}
    out.write_text(header_line(emulator.project_id) + json.dumps(first) + "\n")
    with out.open("a") as handle:
        handle.write(json.dumps(later) + "\n")
    out.chmod(0o600)
    result = cli("provision", str(csv(tmp_path / "a.csv", 3)), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "skipped (done earlier): 1 (1 created)" in re.sub(r" +", " ", result.stderr)
    assert emulator.count("create") == 2


def test_another_projects_results_file_is_refused(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    done = {"kind": "result", "organization_id": org(0), "status": "created"}
    content = header_line("project-test-someone-else") + json.dumps(done) + "\n"
    out.write_text(content)
    out.chmod(0o600)
    result = cli("provision", str(csv(tmp_path / "a.csv", 3)), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "holds the results of project project-test-someone-else" in result.stderr
    assert emulator.project_id in result.stderr
    assert emulator.total_requests() == 0
    assert out.read_text() == content


def test_the_progress_line_and_the_summary_agree(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    emulator.script(fault="500_after_commit", route="create", times=4)
    emulator.add_connection(org(7), display_name="Legacy")
    out = tmp_path / "out.jsonl"
    result = cli("provision", str(csv(tmp_path / "a.csv", 12)), "--out", str(out))
    assert result.exit_code == 1, result.output  # org(7) already had a connection
    progress = [line for line in result.stderr.splitlines() if line.startswith("provision: ")]
    last = progress[-1]
    summary = dict(
        re.findall(r"^\s+([a-z][a-z ()-]*?):\s+(\d+)", result.stderr, flags=re.MULTILINE)
    )
    said = {
        word: int(n)
        for n, word in re.findall(r"(\d+) (created|recovered|already had|failed|requests)", last)
    }
    assert said["recovered"] == int(summary["recovered"]) == 4
    assert said["created"] == int(summary["created"]) == 7
    assert said["already had"] == int(summary["already had a connection"]) == 1
    assert said["failed"] == int(summary["failed"]) == 0
    assert said["requests"] == int(summary["requests sent"])
    statuses = [row["status"] for row in results(out)]
    assert statuses.count("recovered") == 4 and statuses.count("created") == 7
    assert {line["organization_id"] for line in pending(out)} >= {
        org(n) for n in range(12) if n != 7
    }
