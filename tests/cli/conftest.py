"""Fixtures for the console-script tests: an emulator on its own thread, and a runner.

The commands under test call `asyncio.run` themselves, so the emulator cannot share
their event loop: it runs on a loop of its own in a background thread for the whole
session, and is reset (state, stats, faults) before each test. The runner calls the
console script's entry point in-process with a `MockEnvironment`; `spawn` starts the
real script in a process of its own.
"""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

import stytch_scim_async as scim
from stytch_scim_async._cli import options
from stytch_scim_async.testing import Faults, StytchEmulator

from .mock_env import MockEnvironment, Run, run_main

T = TypeVar("T")


class ThreadedEmulator:
    """A `StytchEmulator` served from a background thread; every touch goes through
    that thread's loop so the fake's state is never read mid-request."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.emu = StytchEmulator(seed=7)
        self.run(self.emu.start())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the emulator's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    def call(self, function: Callable[[], T]) -> T:
        """Call a plain function on the emulator's loop (thread-safe access to the fake)."""

        async def invoke() -> T:
            return function()

        return self.run(invoke())

    def close(self) -> None:
        """Stop serving, stop the loop, join the thread."""
        self.run(self.emu.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    # -- what tests read ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The emulator's address."""
        return self.emu.base_url

    @property
    def project_id(self) -> str:
        """The project id it accepts."""
        return self.emu.project_id

    @property
    def secret(self) -> str:
        """The project secret it accepts."""
        return self.emu.secret

    def active_token(self, organization_id: str) -> str | None:
        """The token the emulator accepts now for an organization."""
        return self.call(lambda: self.emu.active_token(organization_id))

    def total_requests(self) -> int:
        """API requests seen since the last reset."""
        return self.call(lambda: self.emu.stats.total_requests)

    def count(self, route: str) -> int:
        """Requests seen on one route."""
        return self.call(lambda: self.emu.stats.count(route))

    def add_connection(self, organization_id: str, **fields: Any) -> dict[str, Any]:
        """Pre-seed a connection (as if created elsewhere)."""
        return self.call(lambda: self.emu.add_connection(organization_id, **fields))

    def script(self, **kwargs: Any) -> None:
        """Script a fault for the next matching requests."""
        self.call(lambda: self.emu.script(**kwargs))

    def set_faults(self, faults: Faults) -> None:
        """Replace the failure model."""

        def assign() -> None:
            self.emu.faults = faults

        self.call(assign)

    def reset(self) -> None:
        """Forget state, stats and faults."""

        def clear() -> None:
            self.emu.faults = Faults()
            self.emu.reset()

        self.call(clear)


#: The checkout under test: the package a spawned console script must import.
CHECKOUT = Path(__file__).resolve().parents[2]


def script_environ() -> dict[str, str]:
    """The variables for a spawned `stytch-scim`: this process's, with this checkout
    first on the import path (an editable install may point at another one)."""
    paths = [str(CHECKOUT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


@pytest.fixture(scope="session")
def _served() -> Iterator[ThreadedEmulator]:
    served = ThreadedEmulator()
    try:
        yield served
    finally:
        served.close()


@pytest.fixture
def emulator(_served: ThreadedEmulator) -> ThreadedEmulator:
    """The session's emulator, fresh: no connections, no stats, no faults."""
    _served.reset()
    return _served


class Cli:
    """Invokes `stytch-scim` in-process with the emulator's credentials in the environment."""

    def __init__(self, emulator: ThreadedEmulator) -> None:
        self.emulator = emulator

    def env(self, **overrides: str | None) -> dict[str, str | None]:
        """The environment a user would set: project id and secret."""
        env: dict[str, str | None] = {
            "STYTCH_PROJECT_ID": self.emulator.project_id,
            "STYTCH_SECRET": self.emulator.secret,
        }
        env.update(overrides)
        return env

    def __call__(
        self,
        *args: str,
        api: bool = True,
        env: Mapping[str, str | None] | None = None,
        input: bytes | str | None = None,
        stderr_isatty: bool = False,
    ) -> Run:
        """Run one command; `api` adds --base-url pointing at the emulator."""
        argv: Sequence[str] = list(args)
        if api:
            argv = [*argv, "--base-url", self.emulator.base_url]
        environment = MockEnvironment(
            stdin=input or b"",
            environ=env if env is not None else self.env(),
            stderr_isatty=stderr_isatty,
        )
        return run_main(argv, environment)

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        """Start the console script in a process of its own (to signal it), pointed at
        the emulator; its stdout and stderr are pipes."""
        script = Path(sys.executable).with_name("stytch-scim")
        variables = {k: v for k, v in self.env().items() if v is not None}
        env = {**script_environ(), **variables}
        return subprocess.Popen(
            [str(script), *args, "--base-url", self.emulator.base_url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's clients back off in milliseconds, not seconds (the same attempts)."""
    fast = scim.RetryPolicy(initial_delay=0.001, max_delay=0.01)
    monkeypatch.setattr(options, "SCIMClient", functools.partial(scim.SCIMClient, retry=fast))


@pytest.fixture
def cli(emulator: ThreadedEmulator) -> Cli:
    """Run `stytch-scim` against the emulator."""
    return Cli(emulator)


def assert_no_secret(result: Run, secret: str) -> None:
    """The project secret appears in neither output stream."""
    assert secret not in result.stdout
    assert secret not in result.stderr
