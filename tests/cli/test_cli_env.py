"""The commands see the world only through their `Environment`, and exit only with an
`ExitStatus`, each one documented."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stytch_scim_async._cli.exit import ExitStatus

from .conftest import Cli, ThreadedEmulator, script_environ
from .mock_env import MockEnvironment, run_main

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
ORG = "organization-test-env"


def documented_statuses() -> dict[int, str]:
    """status -> name, from the table under cli.md's "Exit status" heading."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("\n## Exit status\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| `([A-Z_]+)` \|", section, re.MULTILINE)
    assert rows, "cli.md has no exit status table"
    return {int(code): name for code, name in rows}


def test_every_exit_status_is_documented_and_every_documented_one_exists() -> None:
    assert documented_statuses() == {member.value: member.name for member in ExitStatus}


def test_credentials_come_from_the_environments_variables_only(
    cli: Cli, emulator: ThreadedEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The process's own variables say otherwise: they are not read.
    monkeypatch.setenv("STYTCH_PROJECT_ID", "project-test-not-this-one")
    monkeypatch.setenv("STYTCH_SECRET", "secret-test-not-this-one")
    result = cli("get", ORG)
    assert result.exit_code == ExitStatus.OK, result.output
    monkeypatch.delenv("STYTCH_SECRET")
    missing = cli("get", ORG, env={"STYTCH_PROJECT_ID": emulator.project_id})
    assert missing.exit_code == ExitStatus.USAGE
    assert "no project secret" in missing.stderr


def test_help_version_and_usage_errors_go_to_the_environments_streams(
    capsys: pytest.CaptureFixture[str],
) -> None:
    help_run = run_main(["provision", "--help"], MockEnvironment())
    assert help_run.exit_code == ExitStatus.OK
    assert help_run.stdout.startswith("Usage: stytch-scim provision [OPTIONS] FILE")
    version = run_main(["--version"], MockEnvironment())
    assert version.exit_code == ExitStatus.OK and "stytch-scim, version " in version.stdout
    bad = run_main(["provison"], MockEnvironment())
    assert bad.exit_code == ExitStatus.USAGE
    assert "No such command 'provison'" in bad.stderr and bad.stdout == ""
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")  # nothing reached the process's


@pytest.mark.usefixtures("quick_retries")
def test_a_terminal_gets_the_rich_bar_with_the_log_above_it(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.script(fault="500_before_commit", route="create", organization_id=f"{ORG}-1")
    source = tmp_path / "orgs.csv"
    source.write_text(f"organization_id,display_name,identity_provider\n{ORG}-0,,\n{ORG}-1,,\n")
    out = str(tmp_path / "out.jsonl")
    result = cli("-v", "provision", str(source), "--out", out, stderr_isatty=True)
    assert result.exit_code == ExitStatus.OK, result.output
    assert "\x1b[" in result.stderr  # drawn for a terminal
    assert "━" in result.stderr and "2/2" in result.stderr
    assert "2 created, 0 recovered, 0 already had a connection, 0 failed" in result.stderr
    # The retry line was printed through the bar's console, as a line of its own.
    retry = next(line for line in result.stderr.splitlines() if "retrying create" in line)
    assert re.fullmatch(
        rf"(\x1b\[[0-9;?]*[A-Za-z]|\r)*INFO stytch_scim_async: retrying create: .*"
        rf"\[organization {ORG}-1\]\s*",
        retry,
    ), repr(retry)
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")


def test_elapsed_time_and_rates_come_from_the_environments_clock(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    source = tmp_path / "orgs.csv"
    rows = "\n".join(f"{ORG}-{n},," for n in range(6))
    source.write_text("organization_id,display_name,identity_provider\n" + rows + "\n")
    ticks = itertools.count(start=0.0, step=60.0)  # a minute passes at every look
    env = MockEnvironment(environ=cli.env(), clock=lambda: next(ticks))
    argv = ["provision", str(source), "--out", str(tmp_path / "o.jsonl")]
    result = run_main([*argv, "--base-url", emulator.base_url], env)
    assert result.exit_code == ExitStatus.OK, result.output
    assert re.search(r"^  elapsed:\s+60\.00 s$", result.stderr, re.MULTILINE), result.stderr
    assert re.search(r"^  rate:\s+0\.1 orgs/s$", result.stderr, re.MULTILINE)


def test_the_console_script_builds_the_processs_environment(tmp_path: Path) -> None:
    """The real entry point: the process's variables, stdin and streams."""
    script = Path(sys.executable).with_name("stytch-scim")
    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        [str(script), "provision", "-", "--format", "jsonl", "--out", str(out)],
        input="\n\n",
        capture_output=True,
        text=True,
        env={**script_environ(), "STYTCH_PROJECT_ID": "project-test-x", "STYTCH_SECRET": "s"},
        timeout=30,
        check=False,
    )
    assert done.returncode == ExitStatus.USAGE
    assert done.stderr == "Error: <stdin>: no organizations to provision (only blank lines)\n"
    assert done.stdout == ""
    assert not out.exists()
