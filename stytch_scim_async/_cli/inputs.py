"""Reading the `provision` input: CSV or JSON Lines, validated whole before any request.

A batch that stops half-way because line 9,000 is malformed leaves a half-provisioned
fleet and a confused operator, so every problem in the file is found (and reported
with its line number) before the first connection is created. Standard library only.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any, Literal

from .._provision.batch import ProvisionRequest
from .._sansio.validate import check_id, check_identity_provider
from ..errors import InvalidRequestError

__all__ = ["COLUMNS", "InputError", "InputFormat", "format_for", "parse_requests"]

InputFormat = Literal["csv", "jsonl"]

#: The columns (CSV) or keys (JSON Lines) of one input record.
COLUMNS = ("organization_id", "display_name", "identity_provider")

_EXTENSIONS: dict[str, InputFormat] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

#: Problems listed before the rest are only counted (a wrong delimiter fails every line).
MAX_REPORTED = 20


class InputError(Exception):
    """The input file is unusable; `problems` are `file:line: message` strings."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:MAX_REPORTED]
        if len(problems) > MAX_REPORTED:
            shown.append(f"... and {len(problems) - MAX_REPORTED} more problems")
        super().__init__("\n".join(shown))


def format_for(name: str, explicit: InputFormat | None) -> InputFormat:
    """The input format: `explicit` if given, else from the file name's extension."""
    if explicit is not None:
        return explicit
    lowered = name.lower()
    for extension, kind in _EXTENSIONS.items():
        if lowered.endswith(extension):
            return kind
    where = "standard input" if name == "-" else repr(name)
    raise InputError([f"cannot tell the format of {where}: pass --format csv or --format jsonl"])


def _decode(name: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            [f"{name}:{line}: not valid UTF-8 (byte 0x{data[exc.start]:02x}); save it as UTF-8"]
        ) from None
    return text.removeprefix("\ufeff")  # a byte-order mark, as spreadsheets write


class _Collector:
    """Turns raw records into requests, collecting every problem with its line."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[str] = []
        self.requests: list[ProvisionRequest] = []
        self._seen: dict[str, int] = {}

    def problem(self, line: int, message: str) -> None:
        self.problems.append(f"{self.name}:{line}: {message}")

    def add(self, line: int, record: dict[str, str | None]) -> None:
        organization_id = record.get("organization_id")
        if not organization_id:
            self.problem(line, "organization_id is empty")
            return
        try:
            check_id("organization_id", organization_id)
            check_identity_provider(record.get("identity_provider"))
        except InvalidRequestError as exc:
            self.problem(line, str(exc))
            return
        first = self._seen.setdefault(organization_id, line)
        if first != line:
            self.problem(line, f"organization {organization_id!r} is already on line {first}")
            return
        self.requests.append(
            ProvisionRequest(
                organization_id,
                display_name=record.get("display_name"),
                identity_provider=record.get("identity_provider"),
            )
        )


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def _parse_csv(text: str, out: _Collector) -> None:
    if not text.strip():
        return  # no organizations, not even a header: `parse_requests` says so
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: Iterator[list[str]] = iter(reader)
    try:
        header = next(rows, None)
    except csv.Error as exc:
        out.problem(reader.line_num, f"malformed CSV: {exc}")
        return
    if header is None:  # pragma: no cover - blank text was returned above
        return
    names = [name.strip() for name in header]
    missing = [column for column in COLUMNS if column not in names]
    unknown = [name for name in names if name not in COLUMNS]
    repeated = sorted({name for name in names if names.count(name) > 1})
    for column in missing:
        out.problem(1, f"missing column {column!r} (the header must be {','.join(COLUMNS)})")
    for name in unknown:
        out.problem(1, f"unknown column {name!r} (expected {', '.join(COLUMNS)})")
    for name in repeated:
        out.problem(1, f"column {name!r} appears more than once")
    if missing or unknown or repeated:
        return
    while True:
        start = reader.line_num + 1
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            out.problem(start, f"malformed CSV: {exc}")
            break  # the reader cannot resynchronise after a broken quote
        if not row or all(not cell.strip() for cell in row):
            continue  # blank lines carry nothing
        if len(row) != len(names):
            out.problem(start, f"expected {len(names)} fields, found {len(row)}")
            continue
        out.add(start, {name: _blank_to_none(cell) for name, cell in zip(names, row, strict=True)})


def _parse_jsonl(text: str, out: _Collector) -> None:
    # Split on "\n" only: JSON strings may hold U+2028 and friends, which splitlines() cuts.
    for line, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            item: Any = json.loads(raw)
        except ValueError as exc:
            out.problem(line, f"malformed JSON: {exc}")
            continue
        if not isinstance(item, dict):
            out.problem(line, f"expected a JSON object, found {type(item).__name__}")
            continue
        unknown = sorted(set(item) - set(COLUMNS))
        if unknown:
            out.problem(line, f"unknown keys {unknown} (expected {', '.join(COLUMNS)})")
            continue
        record: dict[str, str | None] = {}
        for key in COLUMNS:
            value = item.get(key)
            if value is not None and not isinstance(value, str):
                out.problem(line, f"{key} must be a string, found {type(value).__name__}")
                break
            record[key] = _blank_to_none(value)
        else:
            out.add(line, record)


def parse_requests(name: str, data: bytes, kind: InputFormat) -> list[ProvisionRequest]:
    """Every request in `data` (the file's bytes), or `InputError` listing every problem.

    `name` labels the problems (`orgs.csv:12: ...`). Empty display names and IdPs mean
    "not set"; each organization may appear once, and at least one must.
    """
    out = _Collector(name)
    text = _decode(name, data)
    if kind == "csv":
        _parse_csv(text, out)
    else:
        _parse_jsonl(text, out)
    if out.problems:
        raise InputError(out.problems)
    if not out.requests:
        # One rule for every format: a file with no organization in it is a mistake
        # (the wrong file, an export cut short), never a batch with nothing to do.
        raise InputError([f"{name}: no organizations to provision ({_emptiness(text, kind)})"])
    return out.requests


def _emptiness(text: str, kind: InputFormat) -> str:
    if not text:
        return "the file is empty"
    if kind == "csv" and text.strip():
        return f"only the header {','.join(COLUMNS)}"
    return "only blank lines"
