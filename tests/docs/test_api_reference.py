"""The API reference as a reader sees it: the site is built (`mkdocs build --strict` into
a temporary folder, about 3 s) and its reference pages are read as HTML.

Every public name has its entry; every attribute says in words what it is; no page
shows source lines as documentation (`retry = retry or RetryPolicy()`) or names a
private class or module that leads nowhere (`_BaseClient`, `_clients.`).
"""

from __future__ import annotations

import html
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the docs dependency group is not installed")
pytest.importorskip("mkdocstrings_handlers.python", reason="the docs group is not installed")

REPO = Path(__file__).resolve().parents[2]
PUBLIC_MODULES = [
    "stytch_scim_async",
    "stytch_scim_async.errors",
    "stytch_scim_async.models",
    "stytch_scim_async.fastapi",
    "stytch_scim_async.testing",
    "stytch_scim_async.testing.pytest_plugin",
]
#: Enum members show their value on purpose: the value is what goes on the wire.
ENUMS = ("stytch_scim_async.IdentityProvider.", "stytch_scim_async.ProvisionStatus.")

_ATTRIBUTE = re.compile(r'(?=<div class="doc doc-object doc-attribute">)')
_PRIVATE = re.compile(
    r"(?<!\w)_(?:clients|engine|policy|sansio|transports|provision|cli)\b"  # modules
    r"|(?<![\w])_[A-Z]\w+"  # classes (_BaseClient, _Envelope, ...)
    r"|\bEmulatorHelpers\b"  # a public name in a private module
)
_SOURCE = re.compile(r"\w+ = .*\bor\b|attrs\.field\(|\bself\.|check_id\(|\.coerce\(")


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each reference page's HTML, by page name."""
    site = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert built.returncode == 0, built.stderr
    found = {p.parent.name: p.read_text("utf-8") for p in (site / "reference").glob("*/index.html")}
    assert len(found) >= 7, sorted(found)
    return found


def attributes(page: str) -> list[tuple[str, str, str]]:
    """(anchor id, signature text, documentation text) of each attribute on a page."""
    found = []
    for part in _ATTRIBUTE.split(page)[1:]:
        anchor = re.search(r'id="([^"]+)"', part)
        signature = re.search(r'<div class="doc-signature[^"]*">(.*?)</div>', part, re.S)
        contents = re.search(r'<div class="doc doc-contents[^"]*">(.*?)</div>', part, re.S)
        assert anchor is not None
        found.append(
            (
                anchor[1],
                _text(signature[1]) if signature else "",
                _text(contents[1]) if contents else "",
            )
        )
    return found


def test_every_public_name_has_an_entry(pages: dict[str, str]) -> None:
    anchors = {anchor for page in pages.values() for anchor in re.findall(r'id="([^"]+)"', page)}
    missing = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            # Re-exported names are documented where the reference puts them.
            if not any(a == f"{module_name}.{name}" or a.endswith(f".{name}") for a in anchors):
                missing.append(f"{module_name}.{name}")
    assert missing == []


def test_every_attribute_is_documented_in_words(pages: dict[str, str]) -> None:
    undocumented = [
        anchor for page in pages.values() for anchor, _, doc in attributes(page) if not doc
    ]
    assert undocumented == []


def test_no_source_line_is_shown_as_documentation(pages: dict[str, str]) -> None:
    shown = []
    for page in pages.values():
        for anchor, signature, _ in attributes(page):
            enum_value = anchor.startswith(ENUMS) and re.fullmatch(r"\w+ = '[\w-]+'", signature)
            if ("=" in signature and not enum_value) or _SOURCE.search(signature):
                shown.append(f"{anchor}: {signature}")
    assert shown == []


def test_no_page_names_a_private_class_or_module(pages: dict[str, str]) -> None:
    named = {
        name: sorted(set(_PRIVATE.findall(_text(page))))
        for name, page in pages.items()
        if _PRIVATE.search(_text(page))
    }
    assert named == {}
    for name, page in pages.items():
        bases = re.findall(r'<p class="doc doc-class-bases">(.*?)</p>', page, re.S)
        assert all(not re.search(r"\b_\w", _text(b)) for b in bases), name


def test_the_checks_catch_what_they_are_for() -> None:
    # The patterns themselves, on the lines the reference used to show.
    assert _SOURCE.search("retry = retry or RetryPolicy()")
    assert _SOURCE.search("max_attempts: int = attrs.field( default=3, validator=count(1) )")
    assert _PRIVATE.search("Bases: _BaseClient")
    assert _PRIVATE.search("stytch_scim_async._clients.base")
    assert not _PRIVATE.search("__init__ with_retry SCIMClient")
