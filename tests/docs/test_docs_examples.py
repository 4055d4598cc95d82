"""Every ```python block in docs/*.md runs against the emulator, so the examples cannot rot.

The convention (also stated on the docs' home page, for readers):

- The runnable blocks of one page run in order, in one shared namespace, like the
  cells of a notebook: a block may use names an earlier block of the page defined.
- Blocks may use top-level `await`: each is compiled with
  `ast.PyCF_ALLOW_TOP_LEVEL_AWAIT` and awaited inside the test's event loop.
- The namespace starts with `emu`, a running `StytchEmulator(seed=0)` started for
  the page, and the environment holds its credentials as `STYTCH_PROJECT_ID`,
  `STYTCH_SECRET` and `STYTCH_PUBLIC_TOKEN` (so `SCIMClient(base_url=emu.base_url)`
  works as it would with real credentials). A block may start its own emulator.
- An `async def test_*` that a block defines is then called, as pytest would call
  it, with the emulator fixtures it names (`stytch_emulator`,
  `stytch_emulator_factory`); this is how the testing guide's examples are run. A
  plain `def test_*` is called too when it takes no argument, and refused (the page
  fails) when it asks for a fixture: the emulator's fixtures are async.
- Every page has runnable examples or is listed in `NO_EXAMPLES` with the reason it
  has none; a page whose Python blocks are all marked not-run fails either way.
  Shell lines that run `stytch-scim` are checked by `test_cli_docs.py`.
- A block directly preceded by `<!-- not-run: reason -->` is not run; the reason is
  required. Blocks in other languages (bash, text, ...) are never run.

Tracebacks point at the Markdown file and line of the failing statement.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import re
import types
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from stytch_scim_async.testing import Faults, StytchEmulator

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = sorted(DOCS.rglob("*.md"))

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_NOT_RUN = re.compile(r"^\s*<!--\s*not-run:\s*(?P<reason>\S.*?)\s*-->\s*$")
_MARKER = re.compile(r"^\s*<!--\s*not-run\b")
_PYTHON = {"python", "py", "python3", "pycon"}


@attrs.frozen
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int  # 1-based line of the first line of code
    language: str
    code: str
    skip_reason: str | None


def extract_blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, with the not-run marker before each."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        info = opening["info"].strip()
        # "python title=…", or the attribute-list form "{.python title=…}".
        language = info.lstrip("{").split()[0].lstrip(".").rstrip("}").lower() if info else ""
        previous = next((text for text in reversed(lines[:index]) if text.strip()), "")
        marker = _NOT_RUN.match(previous)
        if _MARKER.match(previous) and marker is None:
            raise AssertionError(f"{page}:{index}: a not-run marker needs a reason")
        body: list[str] = []
        index += 1
        while index < len(lines) and not (
            lines[index].strip().startswith(fence[0] * len(fence))
            and not lines[index].strip().strip(fence[0])
        ):
            text = lines[index]
            body.append(text[len(indent) :] if text.startswith(indent) else text.lstrip())
            index += 1
        if index == len(lines):
            raise AssertionError(f"{page}: unclosed code fence")
        start = index - len(body) + 1
        reason = marker["reason"] if marker else None
        blocks.append(Block(page, start, language, "\n".join(body) + "\n", reason))
        index += 1
    return blocks


def runnable(page: Path) -> list[Block]:
    """The Python blocks of a page that are meant to run."""
    return [b for b in extract_blocks(page) if b.language in _PYTHON and b.skip_reason is None]


async def run_block(block: Block, namespace: dict[str, Any]) -> None:
    """Compile a block with top-level await allowed and run it in `namespace`."""
    tree = ast.parse(block.code, filename=str(block.page))
    ast.increment_lineno(tree, block.line - 1)
    code = compile(tree, str(block.page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if code.co_flags & inspect.CO_COROUTINE:
        await types.FunctionType(code, namespace)()
    else:
        exec(code, namespace)  # noqa: S102 - running our own documentation is the point


@contextlib.asynccontextmanager
async def emulator_factory() -> AsyncIterator[Callable[..., Any]]:
    """What the `stytch_emulator_factory` fixture provides, for the blocks' tests."""
    started: list[StytchEmulator] = []

    async def factory(faults: Faults | None = None, **options: Any) -> StytchEmulator:
        emulator = StytchEmulator(faults=faults, **options)
        await emulator.start()
        started.append(emulator)
        return emulator

    try:
        yield factory
    finally:
        for emulator in reversed(started):
            await emulator.close()


async def run_defined_tests(before: set[str], namespace: dict[str, Any]) -> list[str]:
    """Call the `test_*` functions a block just defined, with their fixtures; returns
    the names of those it ran."""
    ran: list[str] = []
    for name, value in list(namespace.items()):
        if name in before or not name.startswith("test_") or not inspect.isfunction(value):
            continue
        ran.append(name)
        if not inspect.iscoroutinefunction(value):
            wanted = list(inspect.signature(value).parameters)
            if wanted:
                raise AssertionError(
                    f"{name}: a plain def test cannot take the emulator fixtures {wanted}; "
                    "make it `async def`"
                )
            value()
            continue
        async with contextlib.AsyncExitStack() as stack:
            fixtures: dict[str, Any] = {}
            for parameter in inspect.signature(value).parameters:
                if parameter == "stytch_emulator":
                    fixtures[parameter] = await stack.enter_async_context(StytchEmulator(seed=0))
                elif parameter == "stytch_emulator_factory":
                    fixtures[parameter] = await stack.enter_async_context(emulator_factory())
                else:
                    raise AssertionError(f"{name}: no fixture {parameter!r} for docs examples")
            await value(**fixtures)
    return ran


#: Pages with no runnable example, each with the reason. Nothing else may lack one.
NO_EXAMPLES = {
    "changelog.md": "release notes",
    "cli.md": "shell commands only: test_cli_docs.py parses each with the real command",
    "performance.md": "benchmark figures: the commands are benchmarks/ scripts",
    **{
        f"reference/{name}.md": "API reference, rendered from the docstrings"
        for name in (
            "clients",
            "errors",
            "fastapi",
            "models",
            "observability",
            "policy",
            "provisioning",
            "testing",
        )
    },
}


def example_problems(pages: list[Path], root: Path, listed: dict[str, str]) -> list[str]:
    """Why the pages' examples are not all checked: empty when they are."""
    problems = []
    names = {str(page.relative_to(root)): page for page in pages}
    for name, page in names.items():
        python = [b for b in extract_blocks(page) if b.language in _PYTHON]
        if python and not runnable(page):
            problems.append(f"{name}: every Python block is marked not-run")
        elif not python and name not in listed:
            problems.append(f"{name}: no runnable example, and not listed in NO_EXAMPLES")
        elif python and name in listed:
            problems.append(f"{name}: has runnable examples but is listed in NO_EXAMPLES")
    problems += [
        f"{name}: listed in NO_EXAMPLES but no such page" for name in listed - names.keys()
    ]
    return problems


def test_every_page_has_checked_examples_or_says_why_not() -> None:
    assert example_problems(PAGES, DOCS, NO_EXAMPLES) == []


RUNNABLE = [page for page in PAGES if runnable(page)]


@pytest.mark.parametrize("page", RUNNABLE, ids=[str(p.relative_to(DOCS)) for p in RUNNABLE])
async def test_page_examples_run(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = runnable(page)
    assert blocks
    async with StytchEmulator(seed=0) as emu:
        monkeypatch.setenv("STYTCH_PROJECT_ID", emu.project_id)
        monkeypatch.setenv("STYTCH_SECRET", emu.secret)
        monkeypatch.setenv("STYTCH_PUBLIC_TOKEN", emu.public_token)
        namespace: dict[str, Any] = {"__name__": "__docs__", "emu": emu}
        for block in blocks:
            before = set(namespace)
            await run_block(block, namespace)
            await run_defined_tests(before, namespace)


def test_the_guard_refuses_pages_whose_examples_are_not_checked(tmp_path: Path) -> None:
    (tmp_path / "skipped.md").write_text(
        "<!-- not-run: for later -->\n```python\nx = 1\n```\n", encoding="utf-8"
    )
    (tmp_path / "prose.md").write_text("Only words.\n\n```bash\nls\n```\n", encoding="utf-8")
    (tmp_path / "runs.md").write_text("```python\nx = 1\n```\n", encoding="utf-8")
    (tmp_path / "listed.md").write_text("Words.\n", encoding="utf-8")
    pages = sorted(tmp_path.glob("*.md"))
    assert example_problems(pages, tmp_path, {"listed.md": "why", "runs.md": "why"}) == [
        "prose.md: no runnable example, and not listed in NO_EXAMPLES",
        "runs.md: has runnable examples but is listed in NO_EXAMPLES",
        "skipped.md: every Python block is marked not-run",
    ]
    assert example_problems(pages, tmp_path, {"listed.md": "why", "gone.md": "why"})[-1] == (
        "gone.md: listed in NO_EXAMPLES but no such page"
    )


async def test_a_plain_def_test_in_an_example_is_run(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\ncalls = []\ndef test_sync():\n    calls.append(1)\n```\n")
    (block,) = runnable(page)
    namespace: dict[str, Any] = {}
    await run_block(block, namespace)
    assert await run_defined_tests(set(), namespace) == ["test_sync"]
    assert namespace["calls"] == [1]


async def test_a_plain_def_test_asking_for_a_fixture_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\ndef test_sync(stytch_emulator):\n    pass\n```\n")
    (block,) = runnable(page)
    namespace: dict[str, Any] = {}
    await run_block(block, namespace)
    with pytest.raises(AssertionError, match="make it `async def`"):
        await run_defined_tests(set(), namespace)


def test_the_extractor_honours_markers_and_indentation(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Intro\n\n"
        "```python\nx = 1\n```\n\n"
        "<!-- not-run: needs real credentials -->\n"
        '```python title="real.py"\nraise SystemExit\n```\n\n'
        "!!! note\n    ```python\n    y = x + 1\n    ```\n\n"
        "```bash\nexit 1\n```\n\n"
        "<!-- not-run: included from a file -->\n"
        '```{.python title="app.py"}\n--8<-- "app.py"\n```\n',
        encoding="utf-8",
    )
    blocks = extract_blocks(page)
    assert [(b.language, b.skip_reason) for b in blocks] == [
        ("python", None),
        ("python", "needs real credentials"),
        ("python", None),
        ("bash", None),
        ("python", "included from a file"),
    ]
    assert [b.code for b in runnable(page)] == ["x = 1\n", "y = x + 1\n"]
    assert blocks[2].line == 14


def test_a_marker_without_a_reason_is_rejected(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- not-run -->\n```python\npass\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="needs a reason"):
        extract_blocks(page)


async def test_a_failing_block_points_at_its_markdown_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("Text\n\n```python\nimport asyncio\nawait asyncio.sleep(0)\n1 / 0\n```\n")
    (block,) = runnable(page)
    with pytest.raises(ZeroDivisionError) as failure:
        await run_block(block, {})
    assert failure.traceback[-1].lineno + 1 == 6
    assert str(failure.traceback[-1].path) == str(page)
