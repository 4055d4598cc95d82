"""The tests mirror the package's layers: a layer's tests may reach into its private
modules (and those of the layers below, to build their inputs); every other test
goes through the public API. Read from the source with `ast`, as `test_layers` does."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent
PACKAGE = "stytch_scim_async"

#: Test folder -> the private package it tests, bottom layer first.
LAYERS = (
    ("sansio", "_sansio"),
    ("policy", "_policy"),
    ("transports", "_transports"),
    ("engine", "_engine"),
    ("provision", "_provision"),
    ("client", "_clients"),
    ("cli", "_cli"),
)

#: Private imports outside a layer folder, each a decision: the fixtures' transport
#: seam, the reconcile table the policy and engine tests share, and the CLI docs test
#: that reads the command tree.
ALLOWED = frozenset(
    {
        ("conftest.py", "_sansio.config"),
        ("conftest.py", "_transports.base"),
        ("conftest.py", "_transports.memory"),
        ("support/reconcile.py", "_policy.reconcile"),
        ("support/replay.py", "_policy.reconcile"),
        ("docs/test_cli_docs.py", "_cli.app"),
    }
)


def private_imports(path: Path) -> set[str]:
    """The package's private modules `path` imports, as `_layer.module`."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            private = len(parts) > 1 and parts[1].startswith("_") and parts[1] != "_version"
            if parts[0] == PACKAGE and private:
                found.add(".".join(parts[1:3]))
    return {name for name in found if not any(other.startswith(name + ".") for other in found)}


def violations() -> list[str]:
    folders = [folder for folder, _ in LAYERS]
    bad = []
    for path in sorted(TESTS.rglob("*.py")):
        relative = path.relative_to(TESTS).as_posix()
        folder = relative.split("/")[0] if "/" in relative else ""
        allowed = (
            {package for _, package in LAYERS[: folders.index(folder) + 1]}
            if folder in folders
            else set()
        )
        for name in private_imports(path):
            if name.split(".")[0] not in allowed and (relative, name) not in ALLOWED:
                bad.append(f"{relative} imports {name}")
    return bad


def test_tests_reach_into_their_own_layer_or_below_only() -> None:
    assert violations() == []


def test_a_reach_upward_would_be_found(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from stytch_scim_async._provision import search\n")
    assert private_imports(probe) == {"_provision.search"}


def test_every_layer_folder_exists() -> None:
    assert all((TESTS / folder / "__init__.py").exists() for folder, _ in LAYERS)
