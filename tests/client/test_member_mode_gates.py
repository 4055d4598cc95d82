"""Member mode's real-world gates, through the public `MemberSCIMClient`: the origin
allow-list and HttpOnly cookies, each a typed error that says what to configure."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from urllib.parse import urlsplit

import aiohttp
import pytest

import stytch_scim_async as scim
from stytch_scim_async import errors
from stytch_scim_async.testing import FakeStytch, Settings, StytchEmulator

ORG = "organization-test-gates"
APP = "https://app.example.com"
CUSTOM = "login.example.com"


def member(
    emulator: StytchEmulator,
    *,
    base_url: str | None = None,
    session: aiohttp.ClientSession | None = None,
) -> scim.MemberSCIMClient:
    token = emulator.member_session(ORG)
    url = base_url or emulator.base_url
    return scim.MemberSCIMClient(emulator.public_token, token, base_url=url, session=session)


def assert_no_secret(emulator: StytchEmulator, error: BaseException) -> None:
    text = str(error) + repr(error)
    assert not [token for token in emulator.fake.state.sessions if token in text]
    assert emulator.secret not in text


async def test_an_origin_not_on_the_allow_list_says_what_to_configure() -> None:
    async with StytchEmulator(settings=Settings(sdk_allowed_origins=frozenset({APP}))) as emulator:
        async with member(emulator) as client:
            with pytest.raises(scim.SDKOriginNotAllowedError) as info:
                await client.create_connection(display_name="Okta")
        assert emulator.active_token(ORG) is None
    error = info.value
    assert isinstance(error, scim.BadRequestError)
    assert errors.SDKOriginNotAllowedError is scim.SDKOriginNotAllowedError
    assert error.error_type == "bad_domain_for_stytch_sdk"
    assert error.attempts == 1  # a configuration problem: repeating it cannot help
    message = str(error)
    assert "allow-listed domains" in message and "Origin" in message
    assert "SCIMClient(project_id, secret)" in message and "member_session_token" in message
    assert_no_secret(emulator, error)


async def test_an_allow_listed_origin_sent_by_the_callers_session_passes() -> None:
    async with (
        StytchEmulator(settings=Settings(sdk_allowed_origins=frozenset({APP}))) as emulator,
        aiohttp.ClientSession(headers={"Origin": APP}) as session,
    ):
        async with member(emulator, session=session) as client:
            created = await client.create_connection(display_name="Okta")
        assert created.connection.bearer_token == emulator.active_token(ORG)


async def test_http_only_cookies_say_to_use_the_custom_domain_as_base_url() -> None:
    settings = Settings(http_only_cookies=True, custom_domains=frozenset({CUSTOM}))
    async with StytchEmulator(settings=settings) as emulator, member(emulator) as client:
        with pytest.raises(scim.CustomDomainRequiredError) as info:
            await client.get_connection()
    error = info.value
    assert isinstance(error, scim.UnauthorizedError)
    assert errors.CustomDomainRequiredError is scim.CustomDomainRequiredError
    assert error.error_type == "cname_required_for_http_only_cookies"
    assert error.attempts == 1
    assert "base_url='https://<the project's custom domain>'" in str(error)
    assert_no_secret(emulator, error)


async def test_the_custom_domain_as_base_url_passes() -> None:
    async with StytchEmulator() as emulator:
        host = urlsplit(emulator.base_url).netloc.replace("127.0.0.1", "localhost")
        emulator.settings = Settings(http_only_cookies=True, custom_domains=frozenset({host}))
        async with member(emulator, base_url=f"http://{host}") as client:
            assert (await client.get_connection()).connection is None


async def test_from_a_server_the_backend_api_needs_neither_gate() -> None:
    settings = Settings(
        sdk_allowed_origins=frozenset({APP}),
        http_only_cookies=True,
        custom_domains=frozenset({CUSTOM}),
    )
    async with StytchEmulator(settings=settings) as emulator:
        session = emulator.member_session(ORG)
        async with scim.SCIMClient(
            emulator.project_id, emulator.secret, base_url=emulator.base_url
        ) as c:
            created = await c.create_connection(
                ORG, display_name="Okta", member_session_token=session
            )
        assert created.connection.bearer_token == emulator.active_token(ORG)


@pytest.mark.parametrize(
    ("status", "error_type", "cls", "phrase"),
    [
        (400, "bad_app_bundle_for_stytch_sdk", scim.SDKOriginNotAllowedError, "app bundles"),
        (401, "cname_invalid_for_http_only_cookies", scim.CustomDomainRequiredError, "verified"),
    ],
)
async def test_the_other_spellings_map_to_the_same_errors(
    status: int, error_type: str, cls: type[scim.APIStatusError], phrase: str
) -> None:
    # The emulator models neither (no app bundles, no unverified custom domains):
    # answer them by hand, in Stytch's error shape.
    async with StytchEmulator() as emulator:
        fake: FakeStytch = emulator.fake
        handle = fake.handle

        def refuse(
            method: str,
            path: str,
            query: Mapping[str, str],
            headers: Mapping[str, str],
            body: bytes,
        ) -> object:
            response = handle(method, path, query, headers, body)
            document = {
                "status_code": status,
                "request_id": "request-id-test-1",
                "error_type": error_type,
                "error_message": "refused",
                "error_url": "https://stytch.com/docs",
            }
            return dataclasses.replace(response, status=status, body=json.dumps(document).encode())

        fake.handle = refuse  # type: ignore[assignment, method-assign]
        async with member(emulator) as client:
            with pytest.raises(cls) as info:
                await client.get_connection()
    assert info.value.error_type == error_type
    assert phrase in str(info.value)
