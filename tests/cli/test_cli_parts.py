"""The CLI's parts on their own: input parsing, the results file, the display."""

from __future__ import annotations

import io
import json
import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from stytch_scim_async import ProvisionOutcome, ProvisionRequest, errors
from stytch_scim_async import ProvisionStatus as S
from stytch_scim_async._cli.display import BatchProgress, live_progress, plain_line, print_summary
from stytch_scim_async._cli.inputs import InputError, format_for, parse_requests
from stytch_scim_async._cli.results import (
    ResultsFile,
    ResultsFileError,
    outcome_record,
    timestamp,
)
from stytch_scim_async._cli.tally import Tally, exit_status, failure_notes, summary_rows
from stytch_scim_async.models import SCIMConnection, SCIMConnectionWithToken

HEADER = b"organization_id,display_name,identity_provider\n"
PROJECT = "project-test-parts"


def test_csv_quoting_bom_blank_lines_and_column_order() -> None:
    data = (
        b"\xef\xbb\xbfidentity_provider, organization_id ,display_name\r\n"
        b'okta,organization-test-a,"Acme, Inc."\r\n'
        b"\r\n"
        b" ,organization-test-b,  \r\n"
    )
    assert parse_requests("x.csv", data, "csv") == [
        ProvisionRequest("organization-test-a", "Acme, Inc.", "okta"),
        ProvisionRequest("organization-test-b", None, None),
    ]


def test_csv_line_numbers_count_physical_lines() -> None:
    data = HEADER + b'organization-test-a,"two\nlines",\n,,okta\n'
    with pytest.raises(InputError) as raised:
        parse_requests("x.csv", data, "csv")
    assert raised.value.problems == ["x.csv:4: organization_id is empty"]


def test_rows_of_empty_cells_are_blank_lines() -> None:
    # Spreadsheets export trailing empty rows as ",,".
    assert parse_requests("x.csv", HEADER + b"organization-test-a,,\n,,\n , ,\n", "csv") == [
        ProvisionRequest("organization-test-a")
    ]


def test_every_problem_is_reported_up_to_a_limit() -> None:
    data = HEADER + b",name,okta\n" * 25
    with pytest.raises(InputError) as raised:
        parse_requests("x.csv", data, "csv")
    assert len(raised.value.problems) == 25
    message = str(raised.value)
    assert "x.csv:2:" in message and "x.csv:21:" in message and "x.csv:22:" not in message
    assert message.endswith("... and 5 more problems")


def test_unterminated_quote_is_reported() -> None:
    with pytest.raises(InputError, match=r"x.csv:2: malformed CSV"):
        parse_requests("x.csv", HEADER + b'organization-test-a,"open\n', "csv")


def test_control_characters_in_ids_are_rejected() -> None:
    data = b'{"organization_id": "organization-test-a\\u0000"}\n'
    with pytest.raises(InputError, match=r"x.jsonl:1: organization_id: must not contain control"):
        parse_requests("x.jsonl", data, "jsonl")


def test_jsonl_strings_may_hold_unicode_line_separators() -> None:
    data = '{"organization_id": "organization-test-a", "display_name": "A\u2028B"}\n'.encode()
    assert parse_requests("x.jsonl", data, "jsonl")[0].display_name == "A\u2028B"


def test_format_for() -> None:
    assert format_for("A.CSV", None) == "csv"
    assert format_for("a.ndjson", None) == "jsonl"
    assert format_for("a.txt", "csv") == "csv"
    with pytest.raises(InputError, match="standard input"):
        format_for("-", None)


def connection() -> SCIMConnectionWithToken:
    """A created connection with a known token."""
    return SCIMConnectionWithToken(
        organization_id="organization-test-a",
        connection_id="scim-connection-test-1",
        status="active",
        display_name="",
        identity_provider="okta",
        base_url="https://example.test/scim",
        bearer_token="tok",
        bearer_token_expires_at=datetime(2029, 3, 20, 21, 28, 28, tzinfo=UTC),
    )


def test_outcome_record_for_each_status() -> None:
    request = ProvisionRequest("organization-test-a")
    created = outcome_record(ProvisionOutcome(request, S.CREATED, connection(), None, 1, "req-1"))
    assert created["bearer_token"] == "tok"
    assert created["bearer_token_expires_at"] == "2029-03-20T21:28:28Z"
    assert created["error_type"] is None
    lost = errors.TokenLostError(
        SCIMConnection(
            organization_id="organization-test-a",
            connection_id="scim-connection-test-9",
            status="active",
            display_name="",
            identity_provider="okta",
            base_url="https://example.test/scim",
        )
    )
    failed = outcome_record(ProvisionOutcome(request, S.FAILED, None, lost, 4, None))
    assert failed["connection_id"] == "scim-connection-test-9"
    assert failed["error_type"] == "TokenLostError"
    assert failed["bearer_token"] is None
    assert failed["next_bearer_token"] is None
    assert failed["attempts"] == 4
    # A recovery that got a token but could not confirm its rotation: keep the token.
    pending = errors.TokenLostError(lost.connection, next_bearer_token="tok-next")
    kept = outcome_record(ProvisionOutcome(request, S.FAILED, None, pending, 5, None))
    assert kept["next_bearer_token"] == "tok-next"
    assert "tok-next" not in kept["error_message"]


def test_timestamps_are_utc_with_z() -> None:
    east = timezone(timedelta(hours=2))
    assert timestamp(datetime(2030, 1, 1, 2, 0, tzinfo=east)) == "2030-01-01T00:00:00Z"
    assert timestamp(None) is None


def test_results_file_is_private_appended_and_locked(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    old = os.umask(0)
    try:
        with ResultsFile(str(path), PROJECT) as results:
            results.write({"kind": "result", "organization_id": "a", "status": "created"})
            with pytest.raises(ResultsFileError, match="in use by another"):
                ResultsFile(str(path), PROJECT)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with ResultsFile(str(path), PROJECT) as again:
        assert again.ledger.project_id == PROJECT
        history = again.ledger.history("a")
        assert history is not None and history.done == "created"
        again.write_many(
            [
                {"kind": "pending", "organization_id": "b"},
                {"kind": "result", "organization_id": "b", "status": "failed"},
            ]
        )
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["header", "result", "pending", "result"]
    assert lines[0]["project_id"] == PROJECT
    assert [line.get("organization_id") for line in lines[1:]] == ["a", "b", "b"]


def test_results_file_must_be_a_regular_file(tmp_path: Path) -> None:
    with pytest.raises(ResultsFileError, match="cannot open"):
        ResultsFile(str(tmp_path), PROJECT)


def progress(done: int, failed: int = 0) -> BatchProgress:
    """Running totals with `done` organizations finished."""
    return BatchProgress(
        done=done,
        created=done - failed - 1,
        recovered=1,
        already_exists=0,
        failed=failed,
        requests=done + 3,
        throttled=2,
    )


def test_plain_line() -> None:
    line = plain_line("provision", 10, progress(4, failed=1), elapsed=2.0)
    assert line == (
        "provision: 4/10 done, 2 created, 1 recovered, 0 already had a connection, "
        "1 failed, 7 requests, 2 throttled, 2.0 orgs/s"
    )
    unconfirmed = BatchProgress(done=1, unconfirmed=1)
    assert ", 1 unconfirmed, " in plain_line("provision", 1, unconfirmed, elapsed=1.0)


async def test_plain_progress_prints_periodically_and_at_the_end() -> None:
    stream = io.StringIO()
    async with live_progress("p", 5, stream, tty=False, interval=0.01) as update:
        update(progress(3))
        import asyncio

        await asyncio.sleep(0.05)
        update(progress(5))
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 2
    assert lines[0].startswith("p: 3/5 done")
    assert lines[-1].startswith("p: 5/5 done")


async def test_rich_progress_and_table_render_on_a_terminal() -> None:
    stream = io.StringIO()
    async with live_progress("provision", 5, stream, tty=True) as update:
        update(progress(5, failed=1))
    print_summary("title", [("created", "4")], stream, tty=True, notes=["failed: x: [why]"])
    text = stream.getvalue()
    assert "5/5" in text and "1 failed" in text
    assert "created" in text and "failed: x: [why]" in text


def test_tally_exit_codes_and_rows() -> None:
    tally = Tally(total=3, skipped={"a": "already_exists"})
    request = ProvisionRequest("b")
    tally.add(ProvisionOutcome(request, S.CREATED, connection(), None, 1))
    tally.add(ProvisionOutcome(ProvisionRequest("c"), S.RECOVERED, connection(), None, 4))
    assert exit_status(tally, allow_existing=True) == 0
    assert exit_status(tally, allow_existing=False) == 1
    rows = dict(summary_rows(tally, allow_existing=False))
    assert rows["skipped (done earlier)"] == "1 (1 already_exists)"
    assert rows["requests sent"] == "5"
    tally.total = 4
    assert exit_status(tally, allow_existing=True) == 1  # one never attempted
    assert dict(summary_rows(tally, allow_existing=True))["not attempted"] == "1"


def test_failure_notes_are_capped() -> None:
    tally = Tally(total=12)
    error = errors.ServerError(status_code=500, error_type="internal_server_error")
    for n in range(12):
        tally.add(ProvisionOutcome(ProvisionRequest(f"o{n}"), S.FAILED, None, error, 6))
    notes = failure_notes(tally)
    assert notes[0].startswith("failed: o0: internal_server_error: HTTP 500")
    assert notes[-1] == "... and 2 more failures (see the results file)"


def test_a_write_cut_short_leaves_the_next_line_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.jsonl"
    real_write = os.write
    with ResultsFile(str(path), PROJECT) as results:

        def torn(fd: int, data: bytes) -> int:
            real_write(fd, bytes(data[:10]))  # part of the header, then the disk fills
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "write", torn)
        with pytest.raises(OSError, match="No space"):
            results.write({"kind": "pending", "organization_id": "a"})
        monkeypatch.setattr(os, "write", real_write)
        results.write({"kind": "pending", "organization_id": "b"})
    with ResultsFile(str(path), PROJECT) as again:
        assert again.ledger.project_id == PROJECT
        assert again.ledger.history("a") is None
        history = again.ledger.history("b")
        assert history is not None and history.sent
