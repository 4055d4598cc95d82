"""Shared fixtures: a served emulator and clients that record sleeps instead of waiting."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import stytch_scim_async as scim
from stytch_scim_async._sansio.config import Timeout
from stytch_scim_async._transports.base import Transport
from stytch_scim_async._transports.memory import Answer, MockTransport
from stytch_scim_async.testing import StytchEmulator

from .support.sleeps import SleepRecorder


@pytest.fixture(scope="session", autouse=True)
def no_unclaimed_tokens() -> Iterator[None]:
    """A batch left without `async with` writes its unreceived tokens to a file: in the
    suite that must only happen where a test asks for it (in a folder of its own), so
    any file here at the end means some test dropped outcomes on the floor."""
    with tempfile.TemporaryDirectory() as folder:
        before = os.environ.get("STYTCH_SCIM_UNCLAIMED_DIR")
        os.environ["STYTCH_SCIM_UNCLAIMED_DIR"] = folder
        try:
            yield
        finally:
            if before is None:
                del os.environ["STYTCH_SCIM_UNCLAIMED_DIR"]
            else:
                os.environ["STYTCH_SCIM_UNCLAIMED_DIR"] = before
        assert os.listdir(folder) == [], "a batch's outcomes were left unclaimed"


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def fast_retry(sleeps: SleepRecorder) -> scim.RetryPolicy:
    return scim.RetryPolicy(sleep=sleeps)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "over_http: the `client` and `member` fixtures talk to the served emulator over "
        "real HTTP on 127.0.0.1 (by default they reach the same emulator's fake through "
        "the memory transport, with no socket)",
    )


@pytest.fixture
async def emulator() -> AsyncIterator[StytchEmulator]:
    """The one emulator of a test: served on 127.0.0.1, so a test may also reach it over
    HTTP; the `client` fixtures reach its fake directly unless marked `over_http`."""
    async with StytchEmulator(seed=0) as served:
        yield served


@pytest.fixture
def transport(request: pytest.FixtureRequest, emulator: StytchEmulator) -> Transport | None:
    """The fixtures' transport: None (aiohttp) under `over_http`, else the memory
    transport over the emulator's fake, bounded like the fixtures' 5 s timeout."""
    if request.node.get_closest_marker("over_http") is not None:
        return None
    fake = emulator.fake

    def handle(*request: Any) -> Answer:  # looked up per request: a test may wrap it
        return fake.handle(*request)

    return MockTransport(handle, timeout=Timeout(total=5.0))


@pytest.fixture
async def client(
    emulator: StytchEmulator, fast_retry: scim.RetryPolicy, transport: Transport | None
) -> AsyncIterator[scim.SCIMClient]:
    async with scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        retry=fast_retry,
        timeout=5,
        _transport=transport,
    ) as c:
        yield c


@pytest.fixture
async def member(
    emulator: StytchEmulator, fast_retry: scim.RetryPolicy, transport: Transport | None
) -> AsyncIterator[scim.MemberSCIMClient]:
    token = emulator.member_session("organization-test-member", admin=True)
    async with scim.MemberSCIMClient(
        emulator.public_token,
        token,
        base_url=emulator.base_url,
        retry=fast_retry,
        timeout=5,
        _transport=transport,
    ) as c:
        yield c
