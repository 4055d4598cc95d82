"""The single-call commands: create, get, delete, rotate; credentials; -v; the script."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import stytch_scim_async as scim
from stytch_scim_async import cli as cli_module

from .conftest import Cli, ThreadedEmulator, assert_no_secret, script_environ

ORG = "organization-test-0c5a1f54-43d6-4b7e-9d5e-1d2b3c4d5e6f"


def document(stdout: str) -> Any:
    """The JSON a command printed."""
    return json.loads(stdout)


def created(cli: Cli, organization_id: str = ORG, *extra: str) -> dict[str, Any]:
    """Create a connection through the CLI; its JSON, token included."""
    result = cli("create", organization_id, *extra)
    assert result.exit_code == 0, result.output
    connection: dict[str, Any] = document(result.stdout)["connection"]
    return connection


def test_create_prints_the_token_once_on_stdout_only(cli: Cli, emulator: ThreadedEmulator) -> None:
    result = cli("create", ORG, "--display-name", "Okta prod", "--idp", "okta")
    assert result.exit_code == 0, result.output
    body = document(result.stdout)
    token = body["connection"]["bearer_token"]
    assert token == emulator.active_token(ORG)
    assert result.stdout.count(token) == 1
    assert token not in result.stderr
    assert body["connection"]["display_name"] == "Okta prod"
    assert body["connection"]["identity_provider"] == "okta"
    assert body["request_id"]
    assert body["recovered"] is False
    assert_no_secret(result, emulator.secret)


def test_create_keeps_a_recovery_token_it_could_not_confirm(
    cli: Cli, emulator: ThreadedEmulator
) -> None:
    # The create's reply is lost; the recovery's rotate start answers, but its complete
    # never succeeds: the new token is pending, and it must still reach the caller.
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="500_before_commit", route="rotate_complete", times=50)
    result = cli("create", ORG, "--display-name", "Okta")
    assert result.exit_code == 1
    body = document(result.stdout)
    pending = body["next_bearer_token"]
    assert pending and pending not in result.stderr
    assert body["connection"]["organization_id"] == ORG
    assert "TokenLostError" in result.stderr


def test_get_shows_the_connection_without_a_token(cli: Cli, emulator: ThreadedEmulator) -> None:
    connection = created(cli)
    result = cli("get", ORG)
    assert result.exit_code == 0, result.output
    shown = document(result.stdout)["connection"]
    assert shown["connection_id"] == connection["connection_id"]
    assert shown["bearer_token_last_four"] == connection["bearer_token"][-4:]
    assert "bearer_token" not in shown
    assert connection["bearer_token"] not in result.output


def test_get_without_a_connection_prints_null(cli: Cli) -> None:
    result = cli("get", ORG)
    assert result.exit_code == 0, result.output
    assert document(result.stdout)["connection"] is None


def test_delete(cli: Cli, emulator: ThreadedEmulator) -> None:
    connection = created(cli)
    result = cli("delete", ORG, connection["connection_id"])
    assert result.exit_code == 0, result.output
    assert document(result.stdout)["connection_id"] == connection["connection_id"]
    assert emulator.active_token(ORG) is None


def test_delete_of_an_unknown_connection_fails_with_exit_1(cli: Cli) -> None:
    created(cli)
    result = cli("delete", ORG, "scim-connection-test-nope")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")


def test_rotate_prints_the_new_active_token(cli: Cli, emulator: ThreadedEmulator) -> None:
    connection = created(cli)
    result = cli("rotate", ORG, connection["connection_id"])
    assert result.exit_code == 0, result.output
    rotated = document(result.stdout)["connection"]
    token = rotated["bearer_token"]
    assert token != connection["bearer_token"]
    assert token == emulator.active_token(ORG)
    assert rotated["bearer_token_last_four"] == token[-4:]
    assert rotated["next_bearer_token_last_four"] == ""
    assert result.stdout.count(token) == 1
    assert token not in result.stderr


def test_rotate_cancel_keeps_the_old_token(cli: Cli, emulator: ThreadedEmulator) -> None:
    connection = created(cli)

    async def start() -> None:
        async with scim.SCIMClient(
            emulator.project_id, emulator.secret, base_url=emulator.base_url
        ) as client:
            await client.rotate_start(ORG, connection["connection_id"])

    emulator.run(start())
    result = cli("rotate", ORG, connection["connection_id"], "--cancel")
    assert result.exit_code == 0, result.output
    shown = document(result.stdout)["connection"]
    assert shown["next_bearer_token_last_four"] == ""
    assert "bearer_token" not in shown
    assert emulator.active_token(ORG) == connection["bearer_token"]


def test_rotate_without_a_rotation_to_cancel_fails(cli: Cli) -> None:
    connection = created(cli)
    result = cli("rotate", ORG, connection["connection_id"], "--cancel")
    assert result.exit_code == 1
    assert "scim_connection_not_rotating_token" in result.stderr


def test_secret_file_is_read_and_never_echoed(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(emulator.secret + "\n")
    result = cli(
        "-v", "get", ORG, "--secret-file", str(secret_file), env=cli.env(STYTCH_SECRET=None)
    )
    assert result.exit_code == 0, result.output
    assert_no_secret(result, emulator.secret)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("get", ORG), {"STYTCH_SECRET": None}, "no project secret"),
        (("get", ORG), {"STYTCH_PROJECT_ID": None}, "no project id"),
        (("get", ORG, "--secret-file", "/nonexistent/secret"), {}, "cannot read --secret-file"),
        (("get", ORG, "--secret", "x"), {}, "No such option"),
    ],
)
def test_credential_problems_are_usage_errors(
    cli: Cli,
    emulator: ThreadedEmulator,
    args: tuple[str, ...],
    env: dict[str, str | None],
    message: str,
) -> None:
    result = cli(*args, env=cli.env(**env))
    assert result.exit_code == 2
    assert message in result.stderr
    assert emulator.total_requests() == 0
    assert_no_secret(result, emulator.secret)


def test_empty_secret_file_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("\n")
    result = cli("get", ORG, "--secret-file", str(secret_file))
    assert result.exit_code == 2
    assert "is empty" in result.stderr


def test_wrong_secret_fails_without_echoing_it(cli: Cli, emulator: ThreadedEmulator) -> None:
    wrong = "secret-test-wrong-but-secret-value"
    result = cli("get", ORG, env=cli.env(STYTCH_SECRET=wrong))
    assert result.exit_code == 1
    assert "unauthorized" in result.stderr.lower()
    assert_no_secret(result, wrong)
    assert_no_secret(result, emulator.secret)


def test_plain_http_to_a_remote_host_is_refused(cli: Cli, emulator: ThreadedEmulator) -> None:
    result = cli("get", ORG, "--base-url", "http://example.com", api=False)
    assert result.exit_code == 2
    assert "base_url" in result.stderr
    assert emulator.total_requests() == 0


def test_verbose_logs_retries_on_stderr(cli: Cli, emulator: ThreadedEmulator) -> None:
    emulator.script(fault="500_before_commit", route="get")
    result = cli("-v", "get", ORG)
    assert result.exit_code == 0, result.output
    assert "INFO stytch_scim_async: retrying get" in result.stderr
    assert_no_secret(result, emulator.secret)
    quiet = cli("get", ORG)
    assert "retrying" not in quiet.stderr


def test_main_without_the_cli_extra_prints_an_install_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    with pytest.raises(SystemExit) as exited:
        cli_module.main(["--help"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pip install 'stytch-scim-async[cli]'" in err


def test_main_runs_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli_module.main(["--version"])
    assert exited.value.code == 0
    assert scim.__version__ in capsys.readouterr().out


def test_console_script_serves_the_emulator_and_creates(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("stytch-scim")
    assert script.exists()
    server = subprocess.Popen(
        [str(script), "emulator", "--port", "0", "--seed", "3"],
        stdout=subprocess.PIPE,
        text=True,
        env=script_environ(),
    )
    try:
        assert server.stdout is not None
        settings = dict(server.stdout.readline().strip().split("=", 1) for _ in range(4))
        secret_file = tmp_path / "secret"
        secret_file.write_text(settings["secret"])
        env = {
            **script_environ(),
            "STYTCH_PROJECT_ID": settings["project_id"],
        }
        env.pop("STYTCH_SECRET", None)
        command = [str(script), "create", ORG, "--secret-file", str(secret_file)]
        done = subprocess.run(
            [*command, "--base-url", settings["base_url"]],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert document(done.stdout)["connection"]["bearer_token"]
        assert settings["secret"] not in done.stdout + done.stderr
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()
    assert server.returncode == 0
