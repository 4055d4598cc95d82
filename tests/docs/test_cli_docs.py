"""The command lines the docs show are accepted by the real commands.

Every shell line of docs/*.md that runs `stytch-scim …` is parsed by the click app
itself (the command resolved, every option and argument checked and converted, as a
real run would, but nothing invoked), and every line that runs the emulator
(`python -m stytch_scim_async.testing …`, `stytch-scim emulator …`) by the
emulator's own parser. A renamed option, a removed command or a value of the wrong
type in the docs fails here. cli.md's table of commands is checked the same way:
each command it names exists and takes the options it lists. And the lines that
call the API (`get`, `create`, `rotate`, `provision` on cli.md's sample CSV) are
run, in the order the docs show them, against an emulator: each must exit 0 and
print or write the tokens the emulator holds.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from stytch_scim_async._cli.app import app
from stytch_scim_async.testing import StytchEmulator
from stytch_scim_async.testing._cli import build_parser
from tests.docs.test_docs_examples import DOCS, PAGES, extract_blocks

_SHELL = {"bash", "sh", "shell", "console", "zsh"}
_EMULATOR_MODULE = ["python", "-m", "stytch_scim_async.testing"]


def command_lines() -> list[tuple[str, list[str]]]:
    """(page:line, argv) for each documented line running the CLI or the emulator."""
    found = []
    for page in PAGES:
        for block in extract_blocks(page):
            if block.language not in _SHELL:
                continue
            for offset, line in enumerate(block.code.splitlines()):
                argv = shlex.split(line, comments=True)
                if ">" in argv:  # a redirection is the shell's, not the command's
                    argv = argv[: argv.index(">")]
                if argv[:1] == ["stytch-scim"] or argv[:3] == _EMULATOR_MODULE:
                    where = f"{page.relative_to(DOCS)}:{block.line + offset}"
                    found.append((where, argv))
    return found


LINES = command_lines()


def parse_cli(argv: list[str]) -> click.Context:
    """Parse `stytch-scim ARGS…` as the app would, up to (not including) invoking it."""
    with app.make_context("stytch-scim", argv[1:]) as group:
        # click 8.2 keeps the subcommand's name apart (`protected_args` is deprecated).
        head = getattr(group, "_protected_args", None)
        head = group.protected_args if head is None else head
        name, command, rest = app.resolve_command(group, [*head, *group.args])
        assert command is not None and name is not None
        return command.make_context(name, rest, parent=group)


def test_the_docs_show_command_lines_on_every_command() -> None:
    shown = {argv[1] for _, argv in LINES if argv[0] == "stytch-scim" and len(argv) > 1}
    assert {"create", "get", "rotate", "provision", "emulator", "demo"} <= shown
    assert any(argv[:3] == _EMULATOR_MODULE for _, argv in LINES)


@pytest.mark.parametrize(("where", "argv"), LINES, ids=[where for where, _ in LINES])
def test_a_documented_command_line_parses(
    where: str, argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STYTCH_PROJECT_ID", "project-test-docs")
    monkeypatch.setenv("STYTCH_SECRET", "secret-test-docs")
    if argv[:3] == _EMULATOR_MODULE:
        build_parser().parse_args(argv[3:])  # exits 2 on an unknown flag or bad value
        return
    if argv[1:] == ["--help"]:
        with pytest.raises(click.exceptions.Exit) as shown:
            parse_cli(argv)
        assert shown.value.exit_code == 0
        return
    context = parse_cli(argv)
    if context.command.name == "emulator":
        build_parser().parse_args(list(context.params["emulator_args"]))
    else:
        assert not context.args, f"{where}: left over {context.args}"


_ROW = re.compile(r"^\| `(?P<usage>[^`]+)` \|", re.MULTILINE)


def test_the_table_of_commands_matches_the_app() -> None:
    rows = [m["usage"].split() for m in _ROW.finditer((DOCS / "cli.md").read_text("utf-8"))]
    assert {row[0] for row in rows} == set(app.commands), "cli.md's table vs the app"
    for row in rows:
        command = app.commands[row[0]]
        options = {opt for param in command.params for opt in param.opts}
        if row[0] == "emulator":
            options |= {opt for action in build_parser()._actions for opt in action.option_strings}
        for word in row[1:]:
            flag = word.strip("[]")
            if flag.startswith("--"):
                assert flag in options, f"cli.md: {row[0]} has no option {flag}"


def test_a_drifted_command_line_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYTCH_PROJECT_ID", "project-test-docs")
    with pytest.raises(click.NoSuchOption):
        parse_cli(["stytch-scim", "create", "organization-test-a", "--identity-provider", "x"])
    with pytest.raises(click.UsageError):
        parse_cli(["stytch-scim", "provison", "organizations.csv"])
    with pytest.raises(click.BadParameter):
        parse_cli(["stytch-scim", "provision", "f.csv", "--out", "r.jsonl", "--concurrency", "x"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--rate-limits", "50"])


_API = {"get", "create", "rotate", "delete", "provision"}


def for_the_emulator(argv: list[str], base_url: str, connection_id: str | None) -> list[str]:
    """A documented API line, pointed at the emulator: the secret comes from the
    environment instead of `--secret-file`, a `…` connection id is the one created."""
    args = []
    words = iter(argv[1:])
    for word in words:
        if word == "--secret-file":
            next(words)
        elif word.startswith("scim-connection-test-") and connection_id is not None:
            args.append(connection_id)
        else:
            args.append(word)
    return [*args, "--base-url", base_url]


async def test_the_documented_api_commands_work_against_the_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = next(
        b.code
        for b in extract_blocks(DOCS / "cli.md")
        if b.language == "text" and b.code.startswith("organization_id,")
    )
    (tmp_path / "organizations.csv").write_text(sample, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    lines = [(where, argv) for where, argv in LINES if argv[:1] == ["stytch-scim"]]
    lines = [(where, argv) for where, argv in lines if len(argv) > 1 and argv[1] in _API]
    assert [argv[1] for _, argv in lines] == ["get", "create", "rotate", "provision", "provision"]
    connection_id = None
    async with StytchEmulator(seed=0) as single, StytchEmulator(seed=1) as batch:
        for where, argv in lines:
            # The batch lines get an emulator of their own: the organization the single
            # calls created would otherwise end `already_exists` (exit status 1).
            emu = batch if argv[1] == "provision" else single
            env = {"STYTCH_PROJECT_ID": emu.project_id, "STYTCH_SECRET": emu.secret}
            args = for_the_emulator(argv, emu.base_url, connection_id)
            # The commands call asyncio.run themselves: run them off this loop.
            result = await asyncio.to_thread(CliRunner().invoke, app, args, env=env)
            assert result.exit_code == 0, (where, args, result.output)
            if args[0] == "provision":
                text = await asyncio.to_thread((tmp_path / args[3]).read_text, encoding="utf-8")
                records = [json.loads(line) for line in text.splitlines()]
                assert records[0]["kind"] == "header"
                assert records[0]["project_id"] == emu.project_id
                rows = [r for r in records if r["kind"] == "result"]
                pending = sorted(r["organization_id"] for r in records if r["kind"] == "pending")
                assert pending == ["organization-test-acme", "organization-test-globex"]
                assert sorted(row["organization_id"] for row in rows) == [
                    "organization-test-acme",
                    "organization-test-globex",
                ]
                for row in rows:  # the second line resumes: nothing left to do
                    assert row["status"] == "created", row
                    assert row["bearer_token"] == emu.active_token(row["organization_id"])
                continue
            printed = json.loads(result.stdout)
            organization_id = args[1]
            token = emu.active_token(organization_id)
            if args[0] == "get":
                assert printed["connection"] is None
            elif args[0] == "create":
                connection_id = printed["connection"]["connection_id"]
                assert printed["connection"]["bearer_token"] == token
            else:  # rotate prints the new token, now the active one
                assert token is not None and json.dumps(printed).count(token) == 1
    assert batch.stats.creates_committed == 2  # the resumed run sent nothing
