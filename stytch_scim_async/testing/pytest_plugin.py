"""Pytest fixtures for the Stytch emulator, registered through the ``pytest11`` entry point.

``stytch_emulator`` is a running `StytchEmulator` without faults (seed 0);
``stytch_emulator_factory`` builds emulators with the `Faults` a test
needs and closes them all at teardown::

    @pytest.mark.asyncio
    async def test_create(stytch_emulator):
        async with SCIMClient(project_id=stytch_emulator.project_id,
                              secret=stytch_emulator.secret,
                              base_url=stytch_emulator.base_url) as client:
            created = await client.create_connection("organization-test-1")
        assert stytch_emulator.active_token("organization-test-1") == (
            created.connection.bearer_token)

The fixtures need pytest-asyncio (the ``testing`` extra brings it); without it this
module defines nothing, so installing the package never breaks a test run. The
marker runs the test in pytest-asyncio's strict (default) and auto modes alike;
``asyncio_mode = "auto"`` in the project's pytest configuration makes it optional.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from stytch_scim_async.testing import Faults, Settings, StytchEmulator
    from stytch_scim_async.testing._server import ServerKind

__all__ = ["EmulatorFactory"]


class EmulatorFactory(Protocol):
    """Starts an emulator; the fixture closes every one it started."""

    async def __call__(
        self,
        faults: Faults | None = None,
        *,
        settings: Settings | None = None,
        seed: int = 0,
        strict_organizations: bool = False,
        clock: Callable[[], float] | None = None,
        last_page_cursor: str | None = None,
        server: ServerKind = "lean",
    ) -> StytchEmulator: ...


if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def stytch_emulator() -> AsyncIterator[StytchEmulator]:
        """A running Stytch emulator with no faults and seed 0."""
        from stytch_scim_async.testing import StytchEmulator

        async with StytchEmulator(seed=0) as emulator:
            yield emulator

    @pytest_asyncio.fixture
    async def stytch_emulator_factory() -> AsyncIterator[EmulatorFactory]:
        """Build running emulators with chosen faults; all are closed at teardown."""
        import time

        from stytch_scim_async.testing import StytchEmulator

        started: list[StytchEmulator] = []

        async def factory(
            faults: Faults | None = None,
            *,
            settings: Settings | None = None,
            seed: int = 0,
            strict_organizations: bool = False,
            clock: Callable[[], float] | None = None,
            last_page_cursor: str | None = None,
            server: ServerKind = "lean",
        ) -> StytchEmulator:
            emulator = StytchEmulator(
                faults=faults,
                settings=settings,
                seed=seed,
                strict_organizations=strict_organizations,
                clock=clock if clock is not None else time.time,
                last_page_cursor=last_page_cursor,
                server=server,
            )
            await emulator.start()
            started.append(emulator)
            return emulator

        try:
            yield factory
        finally:
            for emulator in reversed(started):
                await emulator.close()
