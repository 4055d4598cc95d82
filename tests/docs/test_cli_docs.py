"""The command lines the docs show are accepted by the real commands.

Every shell line of docs/*.md that runs `stytch-scim …` is parsed by the click app
itself (the command resolved, every option and argument checked and converted, as a
real run would, but nothing invoked), and every line that runs the emulator
(`python -m stytch_scim_async.testing …`, `stytch-scim emulator …`) by the
emulator's own parser. A renamed option, a removed command or a value of the wrong
type in the docs fails here. cli.md's table of commands is checked the same way:
each command it names exists and takes the options it lists.
"""

from __future__ import annotations

import re
import shlex

import click
import pytest

from stytch_scim_async._cli_app import app
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
