"""Reading a results file back: the header, first-done-wins, and what a rerun does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stytch_scim_async import ProvisionRequest
from stytch_scim_async._cli.ledger import Action, LedgerError, classify, read_ledger
from stytch_scim_async._cli.tally import plan

from .files import header_line

PROJECT = "project-test-ledger"


def data(*records: dict[str, Any], header: bool = True) -> bytes:
    """A results file's bytes: a header for PROJECT, then `records`."""
    text = header_line(PROJECT) if header else ""
    return (text + "".join(json.dumps(record) + "\n" for record in records)).encode()


def pending(org: str, proven_absent: bool = False, **fields: Any) -> dict[str, Any]:
    """A pending line."""
    return {"kind": "pending", "organization_id": org, "proven_absent": proven_absent, **fields}


def result(org: str, status: str, **fields: Any) -> dict[str, Any]:
    """A result line."""
    return {"kind": "result", "organization_id": org, "status": status, **fields}


def action(*records: dict[str, Any]) -> Action:
    """What a rerun does with organization "o" after `records`."""
    return classify(read_ledger("r", data(*records)).history("o"))


CASES = [
    ("not in the file", [], Action.FRESH),
    ("created", [pending("o"), result("o", "created")], Action.SKIP),
    ("recovered", [pending("o"), result("o", "recovered")], Action.SKIP),
    ("already_exists", [result("o", "already_exists")], Action.SKIP),
    ("pending only", [pending("o")], Action.RESUME),
    ("pending, after proof of absence", [pending("o", proven_absent=True)], Action.CONFIRM),
    ("failed after pending", [pending("o"), result("o", "failed")], Action.RESUME),
    (
        "failed after pending, naming a connection",
        [pending("o"), result("o", "failed", connection_id="scim-connection-test-1")],
        Action.CONFIRM,
    ),
    ("failed, never sent", [result("o", "failed")], Action.FRESH),
    (
        "failed, never sent, naming a connection",
        [result("o", "failed", connection_id="scim-connection-test-1")],
        Action.FRESH,
    ),
    ("pending again after a failure", [result("o", "failed"), pending("o")], Action.RESUME),
    (
        "unconfirmed with its token",
        [pending("o"), result("o", "unconfirmed", bearer_token="tok")],
        Action.CONFIRM,
    ),
    (
        "a failure keeping a recovery's next token",
        [pending("o"), result("o", "failed", next_bearer_token="tok")],
        Action.CONFIRM,
    ),
    ("unconfirmed without a token", [pending("o"), result("o", "unconfirmed")], Action.RESUME),
    (
        "unconfirmed, then failed",
        [pending("o"), result("o", "unconfirmed", bearer_token="t"), result("o", "failed")],
        Action.RESUME,
    ),
    (
        "done, then a later failure",
        [pending("o"), result("o", "created"), result("o", "failed")],
        Action.SKIP,
    ),
]


@pytest.mark.parametrize(("records", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_what_a_rerun_does(records: list[dict[str, Any]], expected: Action) -> None:
    assert action(*records) is expected


def test_the_first_done_line_wins() -> None:
    ledger = read_ledger(
        "r",
        data(
            pending("o"),
            result("o", "created", bearer_token="first"),
            result("o", "already_exists"),
            result("o", "recovered", bearer_token="later"),
        ),
    )
    history = ledger.history("o")
    assert history is not None and history.done == "created"
    todo, tally = plan([ProvisionRequest("o")], ledger)
    assert todo == []
    assert tally.skipped == {"o": "created"}


def test_proof_of_absence_and_what_was_sent_are_kept() -> None:
    ledger = read_ledger(
        "r",
        data(
            pending("o", proven_absent=True, display_name="Sent", identity_provider="okta"),
            result("o", "failed"),
            pending("o", proven_absent=False, display_name="Sent again"),
        ),
    )
    history = ledger.history("o")
    assert history is not None
    assert history.sent and history.proven_absent
    assert (history.display_name, history.identity_provider) == ("Sent again", None)


def test_plan_counts_resumed_and_stranded() -> None:
    ledger = read_ledger("r", data(pending("a"), pending("gone"), result("b", "created")))
    requests = [ProvisionRequest("a"), ProvisionRequest("b"), ProvisionRequest("c")]
    todo, tally = plan(requests, ledger)
    assert [(t.request.organization_id, t.action) for t in todo] == [
        ("a", Action.RESUME),
        ("c", Action.FRESH),
    ]
    assert tally.resumed == 1
    assert tally.skipped == {"b": "created"}
    assert tally.stranded == ["gone"]


def test_the_header_names_the_project() -> None:
    assert read_ledger("r", data()).project_id == PROJECT
    assert read_ledger("r", b"").project_id is None
    assert read_ledger("r", b"\n\n").project_id is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (data(result("o", "created"), header=False), "r:1: not a stytch-scim provision results"),
        (b"dear diary\n", "r:1: not a provision results file"),
        (b"[1, 2]\n", "r:1: not a provision results line"),
        (
            header_line(PROJECT).replace('"version": 2', '"version": 3').encode(),
            "r:1: written by a newer stytch-scim",
        ),
        (header_line("").encode(), "r:1: the header names no project_id"),
        (data({"kind": "result", "status": "created"}), "r:2: not a provision results line"),
        (
            data() + header_line("project-test-other").encode(),
            "r:2: a header naming another project",
        ),
        (data({"kind": "other", "organization_id": "o"}), "r:2: not a provision results line"),
        (data({"kind": "result", "organization_id": "o"}), "r:2: a result line without a status"),
    ],
)
def test_what_is_refused(content: bytes, message: str) -> None:
    with pytest.raises(LedgerError, match=message):
        read_ledger("r", content)


def test_a_repeated_header_of_the_same_project_is_skipped() -> None:
    ledger = read_ledger("r", data(pending("o")) + header_line(PROJECT).encode())
    assert ledger.project_id == PROJECT
    assert classify(ledger.history("o")) is Action.RESUME


def test_torn_lines_are_skipped_wherever_they_are() -> None:
    content = data(pending("o")) + b'{"kind": "result", "organiz\n' + data(header=False)
    ledger = read_ledger("r", content + b'{"kind": "pend')
    assert ledger.torn_tail
    assert classify(ledger.history("o")) is Action.RESUME
    assert not read_ledger("r", data(pending("o"))).torn_tail
