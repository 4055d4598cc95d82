"""Member mode's real-world gates: an allow-listed Origin, and HttpOnly cookies that
need the project's custom domain. Both off by default; backend routes never gated."""

from __future__ import annotations

import aiohttp
import pytest

from stytch_scim_async.testing import FakeStytch, Settings
from stytch_scim_async.testing._cli import build_parser, settings_from_args
from stytch_scim_async.testing.pytest_plugin import EmulatorFactory
from tests.support.emulator_api import ORG, Api, backend_path, basic, error_of

APP = "https://app.example.com"
CUSTOM = "login.example.com"


def member_api(settings: Settings) -> tuple[Api, str]:
    api = Api(FakeStytch(settings=settings))
    return api, api.fake.member_session(ORG)


def test_no_gate_by_default() -> None:
    api, session = member_api(Settings())
    assert api.sdk("POST", "", {"display_name": "Okta"}, session=session).status == 200
    assert (
        api.sdk("GET", "", session=session, headers={"Origin": "https://evil.test"}).status == 200
    )


def test_an_allow_listed_origin_is_required() -> None:
    api, session = member_api(Settings(sdk_allowed_origins=frozenset({APP})))
    assert error_of(api.sdk("POST", "", {}, session=session)) == (400, "bad_domain_for_stytch_sdk")
    other = api.sdk("POST", "", {}, session=session, headers={"Origin": "https://evil.test"})
    assert error_of(other) == (400, "bad_domain_for_stytch_sdk")
    assert api.fake.active_token(ORG) is None
    assert api.fake.stats.count("create", 400) == 2
    allowed = api.sdk("POST", "", {}, session=session, headers={"Origin": APP})
    assert allowed.status == 200
    assert allowed.json()["data"]["connection"]["organization_id"] == ORG


def test_the_origin_check_comes_before_authentication() -> None:
    api, _ = member_api(Settings(sdk_allowed_origins=frozenset({APP})))
    response = api.sdk("GET", "", session="no-such-session")
    assert error_of(response) == (400, "bad_domain_for_stytch_sdk")
    unauthenticated = api.sdk("GET", "", session="no-such-session", headers={"Origin": APP})
    assert error_of(unauthenticated) == (401, "unauthorized_credentials")


def test_http_only_cookies_need_the_custom_domain() -> None:
    api, session = member_api(Settings(http_only_cookies=True, custom_domains=frozenset({CUSTOM})))
    default_host = api.sdk("GET", "", session=session, headers={"Host": "test.stytch.com"})
    assert error_of(default_host) == (401, "cname_required_for_http_only_cookies")
    assert error_of(api.sdk("GET", "", session=session)) == (
        401,
        "cname_required_for_http_only_cookies",
    )
    assert api.sdk("GET", "", session=session, headers={"Host": CUSTOM}).status == 200


def test_both_gates_together_check_the_origin_first() -> None:
    api, session = member_api(
        Settings(
            sdk_allowed_origins=frozenset({APP}),
            http_only_cookies=True,
            custom_domains=frozenset({CUSTOM}),
        )
    )
    no_origin = api.sdk("GET", "", session=session, headers={"Host": "test.stytch.com"})
    assert error_of(no_origin) == (400, "bad_domain_for_stytch_sdk")
    no_cname = api.sdk("GET", "", session=session, headers={"Origin": APP})
    assert error_of(no_cname) == (401, "cname_required_for_http_only_cookies")
    both = api.sdk("GET", "", session=session, headers={"Origin": APP, "Host": CUSTOM})
    assert both.status == 200


@pytest.mark.parametrize(
    "settings",
    [
        Settings(sdk_allowed_origins=frozenset({APP})),
        Settings(http_only_cookies=True, custom_domains=frozenset({CUSTOM})),
    ],
)
def test_backend_routes_are_never_gated(settings: Settings) -> None:
    api = Api(FakeStytch(settings=settings))
    assert api.create(ORG).status == 200
    assert api.backend("GET", backend_path(ORG)).status == 200
    assert api.search({}).status == 200


def test_settings_validate_the_gate_values() -> None:
    with pytest.raises(ValueError, match="sdk_allowed_origins"):
        Settings(sdk_allowed_origins=APP)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="custom_domains"):
        Settings(custom_domains=[CUSTOM])  # type: ignore[arg-type]


async def test_gates_over_http(stytch_emulator_factory: EmulatorFactory) -> None:
    emu = await stytch_emulator_factory(
        settings=Settings(
            sdk_allowed_origins=frozenset({APP}),
            http_only_cookies=True,
            custom_domains=frozenset({CUSTOM}),
        )
    )
    auth = basic(emu.public_token, emu.member_session(ORG))
    url = emu.base_url + "/sdk/v1/b2b/scim"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={"Authorization": auth}) as refused:
            body = await refused.json()
            assert (refused.status, body["error_type"]) == (400, "bad_domain_for_stytch_sdk")
            assert set(body) == {
                "status_code",
                "request_id",
                "error_type",
                "error_message",
                "error_url",
            }
        headers = {"Authorization": auth, "Origin": APP}
        async with http.get(url, headers=headers) as default_host:
            body = await default_host.json()
            assert (default_host.status, body["error_type"]) == (
                401,
                "cname_required_for_http_only_cookies",
            )
        async with http.get(url, headers={**headers, "Host": CUSTOM}) as served:
            assert served.status == 200


def test_cli_flags_for_the_gates() -> None:
    args = build_parser().parse_args(
        [
            "--sdk-allowed-origin",
            APP,
            "--sdk-allowed-origin",
            "https://admin.example.com",
            "--http-only-cookies",
            "--custom-domain",
            CUSTOM,
        ]
    )
    settings = settings_from_args(args)
    assert settings.sdk_allowed_origins == frozenset({APP, "https://admin.example.com"})
    assert settings.http_only_cookies and settings.custom_domains == frozenset({CUSTOM})
    defaults = settings_from_args(build_parser().parse_args([]))
    assert defaults.sdk_allowed_origins is None and not defaults.http_only_cookies
