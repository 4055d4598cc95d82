"""`STYTCH_SCIM_LOG=info|debug`: the library's logging on at client construction,
without code; an unknown value is ignored with one warning; no line carries a secret."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import stytch_scim_async as scim
from stytch_scim_async.testing import StytchEmulator

ORG = "organization-test-env-log"
LOGGER = logging.getLogger("stytch_scim_async")


@pytest.fixture
def bare_logger() -> Iterator[logging.Logger]:
    """The library's logger with no handler and no level, restored after the test."""
    handlers, level = LOGGER.handlers[:], LOGGER.level
    LOGGER.handlers.clear()
    LOGGER.setLevel(logging.NOTSET)
    try:
        yield LOGGER
    finally:
        LOGGER.handlers[:] = handlers
        LOGGER.setLevel(level)


async def test_debug_logs_every_event_to_stderr(
    emulator: StytchEmulator,
    bare_logger: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("STYTCH_SCIM_LOG", "debug")
    emulator.script(fault="500_before_commit", route="get")
    async with scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        retry=scim.RetryPolicy(initial_delay=0),
    ) as client:
        assert len(bare_logger.handlers) == 1 and bare_logger.level == logging.DEBUG
        created = await client.create_connection(ORG)
        await client.with_options(timeout=3).get_connection(ORG)
    err = capsys.readouterr().err
    assert "DEBUG stytch_scim_async: event RequestSent(" in err
    assert "INFO stytch_scim_async: retrying get" in err
    assert err.count("event CallEnded(") == 2
    assert emulator.secret not in err and created.connection.bearer_token not in err
    # A second client adds no second handler.
    scim.SCIMClient(emulator.project_id, emulator.secret, base_url=emulator.base_url)
    assert len(bare_logger.handlers) == 1


async def test_info_logs_retries_but_no_events(
    emulator: StytchEmulator,
    bare_logger: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("STYTCH_SCIM_LOG", "INFO")
    emulator.script(fault="500_before_commit", route="get")
    async with scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        retry=scim.RetryPolicy(initial_delay=0),
    ) as client:
        assert client._hooks is None  # info adds no hook: calls stay at zero cost
        await client.get_connection(ORG)
    err = capsys.readouterr().err
    assert "retrying get" in err and "event " not in err


def test_an_app_that_configured_logging_keeps_it(
    bare_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = logging.NullHandler()
    bare_logger.addHandler(mine)
    monkeypatch.setenv("STYTCH_SCIM_LOG", "debug")
    scim.SCIMClient("project-test-1", "s")
    assert bare_logger.handlers == [mine] and bare_logger.level == logging.NOTSET


def test_an_unknown_value_is_ignored_with_one_warning(
    bare_logger: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("STYTCH_SCIM_LOG", "verbose-please")
    with caplog.at_level(logging.WARNING, logger="stytch_scim_async"):
        scim.SCIMClient("project-test-1", "s")
        scim.SCIMClient("project-test-1", "s")
    warnings = [r for r in caplog.records if "STYTCH_SCIM_LOG" in r.getMessage()]
    assert len(warnings) == 1 and "verbose-please" in warnings[0].getMessage()
    assert bare_logger.handlers == []  # no handler attached for a value it ignored


def test_unset_changes_nothing(
    bare_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STYTCH_SCIM_LOG", raising=False)
    scim.SCIMClient("project-test-1", "s")
    assert bare_logger.handlers == [] and bare_logger.level == logging.NOTSET
