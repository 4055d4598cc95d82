"""`stytch-scim provision`: inputs, the 0600 results file, resume, exit codes."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from .conftest import Cli, ThreadedEmulator, assert_no_secret
from .files import assert_tokens_match, header_line, pending, results


def org(n: int) -> str:
    """A test organization id."""
    return f"organization-test-cli-{n:04d}"


def write_csv(
    path: Path, orgs: range, header: str = "organization_id,display_name,identity_provider"
) -> Path:
    """A CSV input file with the organizations numbered `orgs`."""
    lines = [header] + [f"{org(n)},Org {n},{'okta' if n % 2 else ''}" for n in orgs]
    path.write_text("\n".join(lines) + "\n")
    return path


def records(path: Path) -> list[dict[str, Any]]:
    """The result lines of a results file."""
    return results(path)


def squeeze(text: str) -> str:
    """Text with runs of spaces collapsed (the plain summary aligns its values)."""
    return re.sub(r" +", " ", text)


def mode(path: Path) -> int:
    """A file's permission bits."""
    return stat.S_IMODE(path.stat().st_mode)


def test_csv_happy_path(cli: Cli, emulator: ThreadedEmulator, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "orgs.csv", range(6))
    out = tmp_path / "results.jsonl"
    result = cli("provision", str(source), "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = records(out)
    assert sorted(row["organization_id"] for row in rows) == [org(n) for n in range(6)]
    assert_tokens_match(emulator, rows)
    assert mode(out) == 0o600
    assert result.stdout == ""  # tokens go to the file only
    for row in rows:
        assert row["bearer_token"] not in result.stderr
    assert "provision: 6/6 done, 6 created" in result.stderr
    assert "created:" in result.stderr
    assert_no_secret(result, emulator.secret)


@pytest.mark.parametrize("name", ["orgs.jsonl", "orgs.ndjson", "-"])
def test_jsonl_happy_path(cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, name: str) -> None:
    lines = [
        json.dumps({"organization_id": org(1), "display_name": "One", "identity_provider": "okta"}),
        "",
        json.dumps({"organization_id": org(2)}),
        json.dumps({"organization_id": org(3), "display_name": None, "identity_provider": ""}),
    ]
    data = "\n".join(lines) + "\n"
    out = tmp_path / "out.jsonl"
    if name == "-":
        result = cli("provision", "-", "--format", "jsonl", "--out", str(out), input=data)
    else:
        (tmp_path / name).write_text(data)
        result = cli("provision", str(tmp_path / name), "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = records(out)
    assert len(rows) == 3
    assert_tokens_match(emulator, rows)


def test_rerun_resumes_without_truncating(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    first = cli("provision", str(write_csv(tmp_path / "a.csv", range(3))), "--out", str(out))
    assert first.exit_code == 0, first.output
    before = out.read_text()
    creates = emulator.count("create")
    second = cli("provision", str(write_csv(tmp_path / "b.csv", range(5))), "--out", str(out))
    assert second.exit_code == 0, second.output
    assert out.read_text().startswith(before)
    assert len(records(out)) == 5
    assert emulator.count("create") == creates + 2
    assert "skipped (done earlier): 3 (3 created)" in squeeze(second.stderr)
    assert "provision: 2/2 done" in second.stderr
    assert_tokens_match(emulator, records(out))


def test_torn_last_line_is_tolerated(cli: Cli, emulator: ThreadedEmulator, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    done = {"kind": "result", "organization_id": org(0), "status": "created", "bearer_token": "k"}
    torn = '{"kind": "result", "organization_id": "' + org(1) + '", "sta'
    out.write_text(header_line(emulator.project_id) + json.dumps(done) + "\n" + torn)
    os.chmod(out, 0o644)
    result = cli("provision", str(write_csv(tmp_path / "a.csv", range(3))), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert mode(out) == 0o600
    text = out.read_text().splitlines()
    assert json.loads(text[1]) == done
    assert text[2].endswith('"sta')
    rows = [json.loads(line) for line in text[3:]]
    assert sorted(row["organization_id"] for row in rows if row["kind"] == "result") == [
        org(1),
        org(2),
    ]
    assert emulator.count("create") == 2


def test_out_that_is_not_a_results_file_is_refused(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "notes.txt"
    out.write_text("dear diary\n")
    result = cli("provision", str(write_csv(tmp_path / "a.csv", range(2))), "--out", str(out))
    assert result.exit_code == 2
    assert "not a provision results file" in result.stderr
    assert out.read_text() == "dear diary\n"
    assert emulator.total_requests() == 0


@pytest.mark.parametrize(
    "content",
    [
        b"dear diary\n",
        b'{"kind": "note", "text": "JSON, but not ours"}\n',
        b"",  # replaced below by another project's results file
    ],
    ids=["text", "json", "other-project"],
)
def test_a_refused_out_is_left_exactly_as_it_was(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, content: bytes
) -> None:
    out = tmp_path / "notes.txt"
    out.write_bytes(content or header_line("project-test-someone-else").encode())
    os.chmod(out, 0o644)
    before = out.read_bytes()
    old = 1_600_000_000_000_000_000  # a fixed, distant mtime: any write would move it
    os.utime(out, ns=(old, old))
    result = cli("provision", str(write_csv(tmp_path / "a.csv", range(2))), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "choose another --out" in result.stderr
    after = out.stat()
    assert mode(out) == 0o644  # not made private: it is not ours to change
    assert after.st_mtime_ns == old
    assert out.read_bytes() == before
    assert emulator.total_requests() == 0


def test_out_must_not_be_the_input(cli: Cli, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "a.csv", range(2))
    result = cli("provision", str(source), "--out", str(source))
    assert result.exit_code == 2
    assert "must not be the input" in result.stderr


BAD_INPUTS = [
    (
        "missing.csv",
        b"organization_id,display_name\norganization-test-a,A\n",
        "missing.csv:1: missing column 'identity_provider'",
    ),
    (
        "typo.csv",
        b"organization_id,display_nme,identity_provider\n",
        "typo.csv:1: unknown column 'display_nme'",
    ),
    ("empty.csv", b"", "empty.csv: no organizations to provision (the file is empty)"),
    (
        "blank.csv",
        b"organization_id,display_name,identity_provider\norganization-test-a,,\n,B,okta\n",
        "blank.csv:3: organization_id is empty",
    ),
    (
        "dup.csv",
        b"organization_id,display_name,identity_provider\norganization-test-a,,\norganization-test-b,,\norganization-test-a,,\n",
        "dup.csv:4: organization 'organization-test-a' is already on line 2",
    ),
    (
        "fields.csv",
        b"organization_id,display_name,identity_provider\norganization-test-a,A\n",
        "fields.csv:2: expected 3 fields, found 2",
    ),
    (
        "latin1.csv",
        b"organization_id,display_name,identity_provider\norganization-test-a,,\norganization-test-b,Caf\xe9,\n",
        "latin1.csv:3: not valid UTF-8",
    ),
    (
        "bad.jsonl",
        b'{"organization_id": "organization-test-a"}\n{"organization_id": "organization-test-b"\n',
        "bad.jsonl:2: malformed JSON",
    ),
    (
        "list.jsonl",
        b'["organization-test-a"]\n',
        "list.jsonl:1: expected a JSON object, found list",
    ),
    (
        "keys.jsonl",
        b'{"organization_id": "organization-test-a", "displayname": "A"}\n',
        "keys.jsonl:1: unknown keys ['displayname']",
    ),
    (
        "type.jsonl",
        b'{"organization_id": 42}\n',
        "type.jsonl:1: organization_id must be a string, found int",
    ),
    (
        "dup.ndjson",
        b'{"organization_id": "organization-test-a"}\n\n'
        b'{"organization_id": "organization-test-a"}\n',
        "dup.ndjson:3: organization 'organization-test-a' is already on line 1",
    ),
    ("orgs.txt", b"organization_id\n", "orgs.txt': pass --format csv or --format jsonl"),
]


@pytest.mark.parametrize(
    ("name", "content", "message"), BAD_INPUTS, ids=[n for n, _, _ in BAD_INPUTS]
)
def test_bad_input_is_rejected_before_any_request(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    # A good line first: nothing at all may be sent when any line is bad.
    source = tmp_path / name
    source.write_bytes(content)
    out = tmp_path / "out.jsonl"
    result = cli("provision", str(source), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert emulator.total_requests() == 0
    assert not out.exists()


def test_stdin_needs_a_format(cli: Cli, emulator: ThreadedEmulator, tmp_path: Path) -> None:
    result = cli("provision", "-", "--out", str(tmp_path / "o.jsonl"), input="{}\n")
    assert result.exit_code == 2
    assert "cannot tell the format of standard input" in result.stderr


def test_failures_exit_1_and_are_recorded(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    source = tmp_path / "orgs.csv"
    source.write_text(
        f"organization_id,display_name,identity_provider\n{org(1)},,okta\n{org(2)},,no-such-idp\n"
    )
    out = tmp_path / "out.jsonl"
    result = cli("provision", str(source), "--out", str(out))
    assert result.exit_code == 1, result.output
    rows = {row["organization_id"]: row for row in records(out)}
    assert rows[org(1)]["status"] == "created"
    failed = rows[org(2)]
    assert failed["status"] == "failed"
    assert failed["error_type"] == "invalid_scim_idp"
    assert failed["bearer_token"] is None
    assert failed["request_id"]
    assert f"failed: {org(2)}: invalid_scim_idp" in result.stderr


def test_existing_connections_fail_unless_allowed(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    emulator.add_connection(org(1))
    source = write_csv(tmp_path / "orgs.csv", range(3))
    out = tmp_path / "out.jsonl"
    result = cli("provision", str(source), "--out", str(out))
    assert result.exit_code == 1, result.output
    existing = next(row for row in records(out) if row["organization_id"] == org(1))
    assert existing["status"] == "already_exists"
    assert existing["bearer_token"] is None
    assert "--allow-existing accepts them" in result.stderr
    # The rerun sends nothing more, and accepts the existing one when told to.
    requests = emulator.total_requests()
    rerun = cli("provision", str(source), "--out", str(out), "--allow-existing")
    assert rerun.exit_code == 0, rerun.output
    assert emulator.total_requests() == requests
    assert cli("provision", str(source), "--out", str(out)).exit_code == 1


@pytest.mark.parametrize("verify", [False, True])
def test_an_identical_existing_connection_is_never_rotated(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, verify: bool
) -> None:
    # org(1) already has exactly the connection the file asks for: the organizations
    # search proves it was there before any create, with or without --verify-absent.
    emulator.add_connection(org(1), display_name="Org 1", identity_provider="okta")
    live = emulator.active_token(org(1))
    emulator.script(fault="500_before_commit", route="create", organization_id=org(1))
    source = write_csv(tmp_path / "orgs.csv", range(3))
    out = tmp_path / "out.jsonl"
    flags = ["--verify-absent"] if verify else []
    cli("provision", str(source), "--out", str(out), *flags)
    row = next(row for row in records(out) if row["organization_id"] == org(1))
    assert row["status"] == "already_exists"
    assert emulator.active_token(org(1)) == live  # the IdP's token still works
    assert emulator.count("rotate_start") == 0
    assert org(1) not in {line["organization_id"] for line in pending(out)}
    others = [row for row in records(out) if row["organization_id"] != org(1)]
    assert [row["status"] for row in others] == ["created", "created"]


def test_rejected_credentials_stop_the_batch(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    wrong = "secret-test-not-the-right-one"
    source = write_csv(tmp_path / "orgs.csv", range(50))
    out = tmp_path / "out.jsonl"
    result = cli(
        "provision",
        str(source),
        "--out",
        str(out),
        "--concurrency",
        "2",
        env=cli.env(STYTCH_SECRET=wrong),
    )
    assert result.exit_code == 1
    assert "credentials were rejected" in result.stderr
    assert "not attempted" in result.stderr
    assert emulator.total_requests() < 10
    assert_no_secret(result, wrong)


def test_loose_existing_results_file_is_made_private(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("")
    os.chmod(out, 0o666)  # noqa: S103 - the looseness under test
    result = cli("provision", str(write_csv(tmp_path / "a.csv", range(1))), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert mode(out) == 0o600


def test_max_rate_and_concurrency_are_validated(cli: Cli, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "a.csv", range(1))
    out = str(tmp_path / "o.jsonl")
    assert cli("provision", str(source), "--out", out, "--concurrency", "0").exit_code == 2
    assert cli("provision", str(source), "--out", out, "--max-rate", "0").exit_code == 2
    ok = cli("provision", str(source), "--out", out, "--max-rate", "50", "--concurrency", "1")
    assert ok.exit_code == 0, ok.output


CSV_HEADER = b"organization_id,display_name,identity_provider\n"
EMPTY_INPUTS = [
    ("empty.jsonl", b"", "the file is empty"),
    ("blank.jsonl", b"\n  \n\t\n", "only blank lines"),
    ("empty.csv", b"", "the file is empty"),
    ("header.csv", CSV_HEADER, "only the header"),
    ("header-blank.csv", CSV_HEADER + b"\n,,\n", "only the header"),
    ("blank.csv", b"\r\n\r\n", "only blank lines"),
]


@pytest.mark.parametrize(
    ("name", "content", "why"), EMPTY_INPUTS, ids=[n for n, _, _ in EMPTY_INPUTS]
)
def test_an_input_without_organizations_is_a_usage_error(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, name: str, content: bytes, why: str
) -> None:
    # One rule for both formats: no organizations is the wrong file, not nothing to do.
    source = tmp_path / name
    source.write_bytes(content)
    out = tmp_path / "out.jsonl"
    result = cli("provision", str(source), "--out", str(out))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"Error: {source}: no organizations to provision ({why}")
    assert not out.exists()
    assert emulator.total_requests() == 0


def test_an_empty_standard_input_is_a_usage_error(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    result = cli("provision", "-", "--format", "jsonl", "--out", str(out), input="\n")
    assert result.exit_code == 2, result.output
    assert "<stdin>: no organizations to provision (only blank lines)" in result.stderr
    assert not out.exists()


def test_missing_out_directory_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "a.csv", range(1))
    result = cli("provision", str(source), "--out", str(tmp_path / "no" / "out.jsonl"))
    assert result.exit_code == 2
    assert "cannot open" in result.stderr
