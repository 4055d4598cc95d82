"""A create whose 200 reply is cut after its bearer token: the call ends in
`TokenLostError`, and nothing reachable from that error may hold the token -- not the
chained errors (`__cause__`, and `__context__`, which `raise ... from None` keeps), nor
the frames a locals-capturing traceback shows."""

from __future__ import annotations

import traceback
from typing import Any

import pytest

import stytch_scim_async as scim
from stytch_scim_async._sansio.config import Timeout
from stytch_scim_async._transports.memory import MockTransport
from stytch_scim_async.testing import StytchEmulator

from ..support.answers import Answer

ORG = "organization-test-truncated"


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


@pytest.fixture
async def cut_client(emulator: StytchEmulator) -> Any:
    def handle(method: str, path: str, query: Any, headers: Any, body: bytes) -> Any:
        answer = emulator.fake.handle(method, path, query, headers, body)
        if method == "POST" and path.endswith("/connection") and answer.status == 200:
            cut = answer.body.index(b'"bearer_token_expires_at"')  # just after the token
            return Answer(200, answer.body[:cut], answer.content_type, dict(answer.headers))
        return answer

    transport = MockTransport(handle, timeout=Timeout(total=5.0))
    async with scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        retry=scim.RetryPolicy.disabled(),
        _transport=transport,
    ) as client:
        yield client


async def test_no_chained_error_holds_a_token_cut_from_its_reply(
    cut_client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    with pytest.raises(scim.TokenLostError) as info:
        await cut_client.create_connection(ORG, display_name="x", verify_absent=False)
    token = emulator.active_token(ORG)
    assert token is not None
    for error in _chain(info.value):
        assert token[:12] not in repr(vars(error)) + str(error) + repr(error.args), type(error)


async def test_no_frame_of_the_chain_holds_a_token_cut_from_its_reply(
    cut_client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    with pytest.raises(scim.TokenLostError) as info:
        await cut_client.create_connection(ORG, display_name="x", verify_absent=False)
    # Formatted before the test reads the token: this frame is in the traceback too.
    shown = traceback.TracebackException.from_exception(info.value, capture_locals=True)
    text = "".join(shown.format())
    token = emulator.active_token(ORG)
    assert token is not None
    assert token[:12] not in text
