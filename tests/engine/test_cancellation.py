"""Cancellation and time: a cancelled call returns at once, frees its connection and
leaves no task behind; a deadline is never overrun by more than one attempt."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

import stytch_scim_async as scim
from stytch_scim_async._transports.aiohttp import AiohttpTransport
from stytch_scim_async.testing import StytchEmulator

ORG = "organization-test-cancel"
#: Generous: the behaviour under test is "returns promptly", not a timing benchmark.
PROMPT = 0.1


def acquired(client: scim.SCIMClient) -> int:
    """Connections the client's pool has handed out and not got back."""
    transport = client._transport
    assert isinstance(transport, AiohttpTransport)  # the default transport
    session = transport._session
    assert session is not None
    return len(session.connector._acquired)  # type: ignore[union-attr]


#: How long a call may take to reach the point the test cancels it at.
REACH = 10.0


async def cancel_after(started: Callable[[], bool], call: Awaitable[object]) -> float:
    task = asyncio.ensure_future(call)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + REACH
    while not started():
        if task.done():
            raise AssertionError("the call ended before the point to cancel it at") from (
                task.exception()
            )
        if loop.time() > give_up:
            task.cancel()
            raise AssertionError(f"the call did not reach the point to cancel it at in {REACH} s")
        await asyncio.sleep(0.005)
    begin = loop.time()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return loop.time() - begin


async def test_cancel_during_backoff_sleep(emulator: StytchEmulator) -> None:
    emulator.script(fault="500_before_commit", route="get", times=5)
    policy = scim.RetryPolicy(initial_delay=30, max_delay=30, random=lambda: 1.0)
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, retry=policy
    ) as c:
        took = await cancel_after(lambda: emulator.stats.count("get") == 1, c.get_connection(ORG))
        await asyncio.sleep(0)
        assert took < PROMPT
        assert acquired(c) == 0
    print(f"\ncancel during backoff returned in {took * 1000:.1f} ms")


async def test_cancel_during_a_request_in_flight(emulator: StytchEmulator) -> None:
    emulator.script(fault="stall_after_commit", route="get", stall_seconds=30)
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url
    ) as c:
        took = await cancel_after(lambda: emulator.stats.total_requests == 1, c.get_connection(ORG))
        assert took < PROMPT
        assert acquired(c) == 0
        # The pool still works afterwards.
        assert (await c.get_connection(ORG)).connection is None
    print(f"\ncancel in flight returned in {took * 1000:.1f} ms")


async def test_cancel_during_reconciliation_of_a_create(emulator: StytchEmulator) -> None:
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="stall_after_commit", route="get", stall_seconds=30)
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url
    ) as c:
        took = await cancel_after(
            lambda: emulator.stats.count("get") == 1,
            c.create_connection(ORG, display_name="x", recover_token=True),
        )
        assert took < PROMPT
        assert acquired(c) == 0
    assert not [
        t
        for t in asyncio.all_tasks()
        if t is not asyncio.current_task()
        and not t.done()
        and "stytch_scim_async" in repr(t.get_coro())
    ]


@pytest.mark.parametrize("attempt_timeout", [0.3, 0.6])
async def test_deadline_is_never_overrun_by_more_than_one_attempt(
    emulator: StytchEmulator, attempt_timeout: float
) -> None:
    # The first attempt ends (by its timeout) at 0.6 s at most, leaving 0.4 s for the
    # second one to start before the deadline.
    emulator.script(fault="stall_after_commit", route="get", times=100, stall_seconds=30)
    deadline = 1.0
    policy = scim.RetryPolicy(deadline=deadline, initial_delay=0.01, max_attempts=100)
    async with scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        retry=policy,
        timeout=attempt_timeout,
    ) as c:
        loop = asyncio.get_running_loop()
        begin = loop.time()
        with pytest.raises(scim.RequestTimeoutError):
            await c.get_connection(ORG)
        elapsed = loop.time() - begin
    assert elapsed <= deadline + attempt_timeout
    assert emulator.stats.count("get") >= 2


ROOT = Path(__file__).resolve().parents[2]


def test_a_hung_async_test_fails_by_the_suite_timeout(tmp_path: Path) -> None:
    # The suite's per-test limit must cut an async test blocked on its event loop
    # (pytest-timeout with pytest-asyncio), failing that test rather than the run.
    options = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["pytest"]
    assert options["ini_options"]["timeout"] == 60
    (tmp_path / "test_hangs.py").write_text(
        "import asyncio\n\n"
        "async def test_hangs():\n    await asyncio.Event().wait()\n\n"
        "def test_runs_after():\n    pass\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml")]
    command += ["--rootdir", str(tmp_path), "-p", "no:cacheprovider", "-o", "timeout=1", "-q"]
    run = subprocess.run(
        [*command, str(tmp_path / "test_hangs.py")],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Timeout (>1.0s) from pytest-timeout" in run.stdout
    assert "1 failed, 1 passed" in run.stdout
