"""Reading results files in tests: every line, or the lines of one kind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def lines(path: Path) -> list[dict[str, Any]]:
    """Every parsed line of a results file, header included."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def of_kind(path: Path, kind: str) -> list[dict[str, Any]]:
    """The lines of one kind (`header`, `pending` or `result`)."""
    return [line for line in lines(path) if line["kind"] == kind]


def results(path: Path) -> list[dict[str, Any]]:
    """The result lines, in order."""
    return of_kind(path, "result")


def pending(path: Path) -> list[dict[str, Any]]:
    """The pending lines, in order."""
    return of_kind(path, "pending")


def header_line(project_id: str) -> str:
    """A results file's first line, for `project_id`."""
    record = {
        "kind": "header",
        "format": "stytch-scim provision results",
        "version": 2,
        "project_id": project_id,
        "created_at": "2026-01-01T00:00:00Z",
    }
    return json.dumps(record) + "\n"
