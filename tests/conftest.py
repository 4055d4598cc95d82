"""Shared fixtures: a served emulator and clients that record sleeps instead of waiting."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator

import pytest

import stytch_scim_async as scim
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


@pytest.fixture
async def emu() -> AsyncIterator[StytchEmulator]:
    async with StytchEmulator(seed=0) as emulator:
        yield emulator


@pytest.fixture
async def client(
    emu: StytchEmulator, fast_retry: scim.RetryPolicy
) -> AsyncIterator[scim.SCIMClient]:
    async with scim.SCIMClient(
        emu.project_id, emu.secret, base_url=emu.base_url, retry=fast_retry, timeout=5
    ) as c:
        yield c


@pytest.fixture
async def member(
    emu: StytchEmulator, fast_retry: scim.RetryPolicy
) -> AsyncIterator[scim.MemberSCIMClient]:
    token = emu.member_session("organization-test-member", admin=True)
    async with scim.MemberSCIMClient(
        emu.public_token, token, base_url=emu.base_url, retry=fast_retry, timeout=5
    ) as c:
        yield c
