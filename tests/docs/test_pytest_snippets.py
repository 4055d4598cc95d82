"""The pytest examples of README.md and docs/testing.md pass as written, in a project of
their own.

Each page marks its files with `<!-- test-file: NAME -->` before a fenced block: the
test files (`*.py`) and the documented `pyproject.toml`. Each runs twice with
`python -m pytest` in a fresh directory, as a reader would run it: once alone (no
pytest configuration, so pytest-asyncio's default strict mode), once beside the
documented `pyproject.toml` (auto mode, and no warning). The package is imported
from this checkout through `PYTHONPATH`; nothing is installed and nothing leaves
127.0.0.1.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = {"README.md": REPO / "README.md", "testing.md": REPO / "docs" / "testing.md"}
PLUGIN = "stytch_scim_async.testing.pytest_plugin"

_SNIPPET = re.compile(
    r"^<!-- test-file: (?P<name>[\w.]+) -->\n```(?P<lang>\w+)\n(?P<code>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)


def snippets(page: Path) -> dict[str, str]:
    """The files a page marks with `<!-- test-file: NAME -->`, by name."""
    found = {m["name"]: m["code"] for m in _SNIPPET.finditer(page.read_text("utf-8"))}
    names = [name for name in found if name.endswith(".py")]
    assert names, f"{page.name}: no <!-- test-file: test_….py --> block before a fence"
    assert "pyproject.toml" in found, f"{page.name}: no <!-- test-file: pyproject.toml -->"
    return found


def count_tests(code: str) -> int:
    """How many tests a snippet defines (module-level `def test_*`)."""
    tree = ast.parse(code)
    return sum(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
        for node in tree.body
    )


def _environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("COVERAGE_PROCESS_START", None)
    return env


def _plugin_arguments() -> list[str]:
    """`-p` the plugin only where no installed distribution registers it (pytest11)."""
    registered = importlib.metadata.entry_points(group="pytest11")
    return [] if any(entry.value == PLUGIN for entry in registered) else ["-p", PLUGIN]


def run_pytest(project: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *_plugin_arguments()]
    return subprocess.run(
        command, cwd=project, env=_environment(), capture_output=True, text=True, timeout=120
    )


def test_the_subprocess_imports_this_checkout(tmp_path: Path) -> None:
    found = subprocess.run(
        [sys.executable, "-c", "import stytch_scim_async as s; print(s.__file__)"],
        cwd=tmp_path,
        env=_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(found.stdout.strip()).is_relative_to(REPO)


@pytest.mark.parametrize("configured", [False, True], ids=["no-config", "documented-config"])
@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_pages_pytest_example_passes_as_written(
    page: str, configured: bool, tmp_path: Path
) -> None:
    files = snippets(PAGES[page])
    tests = {name: code for name, code in files.items() if name.endswith(".py")}
    for name, code in tests.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    if configured:
        (tmp_path / "pyproject.toml").write_text(files["pyproject.toml"], encoding="utf-8")
    expected = sum(count_tests(code) for code in tests.values())
    assert expected >= 1

    result = run_pytest(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"rootdir: {tmp_path}" in output  # no configuration from elsewhere
    summary = result.stdout.strip().splitlines()[-1]  # config-time warnings go to stderr
    assert re.search(rf"\b{expected} passed\b", summary), output
    assert not re.search(r"\b(failed|error|errors|skipped)\b", summary), output
    if configured:
        assert re.search(r"asyncio: mode=(Mode\.)?auto\b", output, re.IGNORECASE), output
        assert "warning" not in output.lower(), output  # the documented lines leave none
    else:
        assert re.search(r"asyncio: mode=(Mode\.)?strict\b", output, re.IGNORECASE), output
