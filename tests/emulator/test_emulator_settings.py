"""The emulator's assumptions about Stytch are settings: each can be changed or turned off."""

from __future__ import annotations

from typing import Any

import pytest
from stytch.b2b.models.scim import SCIMConnection

from stytch_scim_async.testing import IDENTITY_PROVIDERS, FakeStytch, Settings, StytchEmulator
from stytch_scim_async.testing._cli import build_parser, settings_from_args
from stytch_scim_async.testing.pytest_plugin import EmulatorFactory
from tests.support.emulator_api import (
    ORG,
    OTHER_ORG,
    Api,
    assert_official_shape,
    backend_path,
    error_of,
)


def api_with(settings: Settings, **kwargs: Any) -> Api:
    return Api(FakeStytch(settings=settings, **kwargs))


def test_defaults_are_the_documented_assumptions() -> None:
    settings = FakeStytch().settings
    assert settings == Settings()
    assert settings.default_identity_provider == "generic"
    assert settings.identity_providers == IDENTITY_PROVIDERS and len(IDENTITY_PROVIDERS) == 15
    assert settings.resolve_slugs and not settings.get_returns_deleted


def test_the_default_identity_provider_is_configurable() -> None:
    api = api_with(Settings(default_identity_provider="okta"))
    assert api.created()["identity_provider"] == "okta"
    assert api.fake.add_connection(OTHER_ORG)["identity_provider"] == "okta"
    assert api.fake.add_connection("org-3", identity_provider="duo")["identity_provider"] == "duo"


def test_the_identity_provider_allow_list_is_configurable() -> None:
    narrow = api_with(
        Settings(identity_providers=frozenset({"okta"}), default_identity_provider="okta")
    )
    assert error_of(narrow.create(identity_provider="generic")) == (400, "invalid_scim_idp")
    cid = narrow.created(identity_provider="okta")["connection_id"]
    update = narrow.backend("PUT", backend_path(ORG, cid), {"identity_provider": "jumpcloud"})
    assert error_of(update) == (400, "invalid_scim_idp")
    assert error_of(Api(FakeStytch()).create(identity_provider="myspace")) == (
        400,
        "invalid_scim_idp",
    )
    open_set = api_with(Settings(identity_providers=None))
    assert open_set.created(identity_provider="myspace")["identity_provider"] == "myspace"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"default_identity_provider": ""}, "empty"),
        ({"identity_providers": frozenset({"okta"})}, "one of identity_providers"),
        ({"identity_providers": {"okta", "generic"}}, "frozenset"),
    ],
)
def test_settings_validate(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(**kwargs)


def test_a_path_may_name_the_organization_by_its_slug() -> None:
    api = Api(FakeStytch())
    api.fake.add_organization(ORG, slug="acme", name="Acme")
    created = api.created("acme")
    assert created["organization_id"] == ORG
    got = api.backend("GET", backend_path(ORG)).json()["connection"]
    assert got["connection_id"] == created["connection_id"]
    with pytest.raises(ValueError, match="taken"):
        api.fake.add_organization(OTHER_ORG, slug="acme")


def test_slug_resolution_can_be_turned_off() -> None:
    api = api_with(Settings(resolve_slugs=False))
    api.fake.add_organization(ORG, slug="acme")
    assert api.created("acme")["organization_id"] == "acme"
    assert api.fake.active_token(ORG) is None


def test_strict_organizations_still_resolve_slugs() -> None:
    api = Api(FakeStytch(strict_organizations=True))
    api.fake.add_organization(ORG, slug="acme")
    assert api.created("acme")["organization_id"] == ORG
    assert error_of(api.create("globex")) == (404, "organization_not_found")


def test_a_deleted_connection_is_not_returned_by_default() -> None:
    api = Api(FakeStytch())
    api.fake.add_connection(ORG, status="deleted")
    assert api.backend("GET", backend_path(ORG)).json().get("connection") is None


def test_get_may_return_a_seeded_deleted_connection() -> None:
    api = api_with(Settings(get_returns_deleted=True))
    seeded = api.fake.add_connection(ORG, display_name="Old", status="deleted")
    assert seeded["status"] == "deleted"
    assert api.fake.active_token(ORG) is None
    got = api.backend("GET", backend_path(ORG)).json()["connection"]
    assert_official_shape(got, SCIMConnection)
    assert (got["connection_id"], got["status"]) == (seeded["connection_id"], "deleted")
    # It is not active: it cannot be changed, and the organization may create another.
    cid = seeded["connection_id"]
    update = api.backend("PUT", backend_path(ORG, cid), {"display_name": "x"})
    assert error_of(update) == (400, "no_active_scim_connection")
    rotate = api.backend("POST", backend_path(ORG, cid, "rotate", "start"))
    assert error_of(rotate) == (400, "no_active_scim_connection")
    [org] = api.search({}).json()["organizations"]
    assert org["scim_active_connection"] is None
    fresh = api.created(ORG)
    got = api.backend("GET", backend_path(ORG)).json()["connection"]
    assert (got["connection_id"], got["status"]) == (fresh["connection_id"], "active")


def test_get_returns_the_connection_deleted_through_the_api_when_enabled() -> None:
    api = Api(FakeStytch())
    cid = api.created()["connection_id"]
    assert api.backend("DELETE", backend_path(ORG, cid)).status == 200
    assert api.backend("GET", backend_path(ORG)).json().get("connection") is None
    api.fake.settings = Settings(get_returns_deleted=True)
    got = api.backend("GET", backend_path(ORG)).json()["connection"]
    assert (got["connection_id"], got["status"]) == (cid, "deleted")


def test_add_connection_rejects_other_statuses() -> None:
    with pytest.raises(ValueError, match="status"):
        FakeStytch().add_connection(ORG, status="suspended")  # type: ignore[arg-type]


def test_reset_keeps_the_settings() -> None:
    fake = FakeStytch(settings=Settings(default_identity_provider="okta"))
    fake.reset()
    assert Api(fake).created()["identity_provider"] == "okta"


async def test_the_served_emulator_takes_and_exposes_settings(
    stytch_emulator_factory: EmulatorFactory,
) -> None:
    emu = await stytch_emulator_factory(settings=Settings(get_returns_deleted=True))
    assert emu.settings.get_returns_deleted
    emu.add_connection(ORG, status="deleted")
    assert emu.fake.handle("GET", backend_path(ORG), {}, {}, b"").status == 401
    emu.settings = Settings(default_identity_provider="okta")
    assert emu.fake.settings.default_identity_provider == "okta"
    async with StytchEmulator(settings=Settings(resolve_slugs=False)) as served:
        assert not served.settings.resolve_slugs


def test_cli_flags_for_settings() -> None:
    args = build_parser().parse_args(
        [
            "--default-identity-provider",
            "okta",
            "--any-identity-provider",
            "--no-slug-resolution",
            "--get-returns-deleted",
        ]
    )
    assert settings_from_args(args) == Settings(
        default_identity_provider="okta",
        identity_providers=None,
        resolve_slugs=False,
        get_returns_deleted=True,
    )
    assert settings_from_args(build_parser().parse_args([])) == Settings()


def test_a_deleted_connection_may_be_seeded_beside_an_active_one() -> None:
    api = api_with(Settings(get_returns_deleted=True))
    active = api.fake.add_connection(ORG)
    old = api.fake.add_connection(ORG, status="deleted")
    assert api.fake.active_token(ORG) == active["bearer_token"]
    got = api.backend("GET", backend_path(ORG)).json()["connection"]
    assert (got["connection_id"], got["status"]) == (active["connection_id"], "active")
    assert api.fake.state.connections[old["connection_id"]].status == "deleted"


def test_no_secret_in_the_state_reprs() -> None:
    fake = FakeStytch()
    created = fake.add_connection(ORG)
    connection = fake.state.connections[created["connection_id"]]
    connection.next_bearer_token = "next-token-never-printed"
    session = fake.new_session(ORG)
    text = repr(connection) + repr(session) + repr(fake.state)
    for secret in (
        created["bearer_token"],
        "next-token-never-printed",
        session.session_token,
        session.session_jwt,
        fake.secret,
    ):
        assert secret not in text
