"""Results files in tests: their lines by kind, and the checks a result line must pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import ThreadedEmulator

KEYS = {
    "kind",
    "organization_id",
    "status",
    "connection_id",
    "bearer_token",
    "token_confirmed",
    "bearer_token_expires_at",
    "next_bearer_token",
    "error_type",
    "error_message",
    "may_have_committed",
    "request_id",
    "attempts",
}


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


def assert_tokens_match(emulator: ThreadedEmulator, rows: list[dict[str, Any]]) -> None:
    """Every row holds the token the emulator accepts for its organization."""
    for row in rows:
        assert set(row) == KEYS
        assert row["status"] in ("created", "recovered"), row
        assert row["bearer_token"] == emulator.active_token(row["organization_id"])
        assert row["token_confirmed"] is True
