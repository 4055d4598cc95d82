"""The example app (docs/examples/fastapi_app.py) driven end to end against the emulator.

httpx's ASGITransport does not run lifespan events, so each test enters the app's
lifespan itself; the app's client talks to a real emulator on 127.0.0.1.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import stytch_scim_async as scim
from stytch_scim_async.testing import StytchEmulator

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "fastapi_app.py"
ORG = "organization-test-acme"
OTHER_ORG = "organization-test-globex"
URL = f"/orgs/{ORG}/scim-connection"


def _load_example() -> ModuleType:
    name = "scim_fastapi_example_app"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    return module


create_app: Callable[..., FastAPI] = _load_example().create_app


def _factory(emu: StytchEmulator, *, secret: str | None = None) -> Callable[[], scim.SCIMClient]:
    def make() -> scim.SCIMClient:
        return scim.SCIMClient(
            emu.project_id,
            secret or emu.secret,
            base_url=emu.base_url,
            retry=scim.RetryPolicy(initial_delay=0.001, max_delay=0.01),
            timeout=5,
        )

    return make


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as http:
            yield http


@pytest.fixture
async def http(stytch_emulator: StytchEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(create_app(_factory(stytch_emulator))) as client:
        yield client


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _create_body() -> dict[str, Any]:
    return {"display_name": "Okta prod", "identity_provider": "okta"}


async def test_admin_creates_views_rotates_and_deletes(
    http: httpx.AsyncClient, stytch_emulator: StytchEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu = stytch_emulator
    caplog.set_level(logging.DEBUG)
    admin = _auth(emu.member_session(ORG, admin=True))

    created = await http.post(URL, json=_create_body(), headers=admin)
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    body = created.json()
    token = body["bearer_token"]
    assert token == emu.active_token(ORG)
    assert body["recovered"] is False
    assert body["request_id"].startswith("request-id-")
    connection_id = body["connection"]["connection_id"]
    assert body["connection"]["bearer_token_last_four"] == token[-4:]

    viewed = await http.get(URL, headers=admin)
    assert viewed.status_code == 200
    assert token not in viewed.text  # shown once: only the last four from now on
    assert viewed.json()["connection"]["connection_id"] == connection_id
    assert viewed.json()["connection"]["bearer_token_last_four"] == token[-4:]

    started = await http.post(f"{URL}/{connection_id}/rotation", headers=admin)
    assert started.status_code == 200
    assert started.headers["cache-control"] == "no-store"
    next_token = started.json()["next_bearer_token"]
    assert started.json()["connection"]["rotating"] is True
    assert emu.active_token(ORG) == token  # the old token works until completion

    completed = await http.post(f"{URL}/{connection_id}/rotation/complete", headers=admin)
    assert completed.status_code == 200
    assert completed.json()["connection"]["rotating"] is False
    assert emu.active_token(ORG) == next_token
    assert next_token not in completed.text

    deleted = await http.delete(f"{URL}/{connection_id}", headers=admin)
    assert deleted.status_code == 200
    assert deleted.json()["connection_id"] == connection_id
    assert emu.active_token(ORG) is None
    gone = await http.get(URL, headers=admin)
    assert gone.json()["connection"] is None

    assert token not in caplog.text
    assert next_token not in caplog.text
    assert admin["Authorization"].split()[1] not in caplog.text
    assert connection_id in caplog.text  # ids are logged, secrets are not


async def test_rotation_can_be_cancelled(
    http: httpx.AsyncClient, stytch_emulator: StytchEmulator
) -> None:
    admin = _auth(stytch_emulator.member_session(ORG))
    created = (await http.post(URL, json=_create_body(), headers=admin)).json()
    connection_id = created["connection"]["connection_id"]
    await http.post(f"{URL}/{connection_id}/rotation", headers=admin)
    cancelled = await http.post(f"{URL}/{connection_id}/rotation/cancel", headers=admin)
    assert cancelled.status_code == 200
    assert cancelled.json()["connection"]["rotating"] is False
    assert stytch_emulator.active_token(ORG) == created["bearer_token"]


async def test_a_second_create_is_a_conflict(
    http: httpx.AsyncClient, stytch_emulator: StytchEmulator
) -> None:
    admin = _auth(stytch_emulator.member_session(ORG))
    assert (await http.post(URL, json=_create_body(), headers=admin)).status_code == 201
    again = await http.post(URL, json=_create_body(), headers=admin)
    assert again.status_code == 409
    assert again.json()["error"] == "active_scim_connection_exists"
    assert again.json()["request_id"].startswith("request-id-")
    assert "bearer_token" not in again.text


async def test_without_a_session_the_app_answers_401(http: httpx.AsyncClient) -> None:
    response = await http.get(URL)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_an_unknown_session_is_401_not_404(http: httpx.AsyncClient) -> None:
    response = await http.get(URL, headers=_auth("session-token-that-does-not-exist"))
    assert response.status_code == 401
    assert response.json()["error"] == "session_not_found"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_member_who_is_not_an_admin_gets_403(
    http: httpx.AsyncClient, stytch_emulator: StytchEmulator
) -> None:
    member = _auth(stytch_emulator.member_session(ORG, admin=False))
    response = await http.post(URL, json=_create_body(), headers=member)
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "session_authorization_error"
    assert body["request_id"].startswith("request-id-")
    assert stytch_emulator.active_token(ORG) is None


async def test_another_organizations_admin_gets_403(
    http: httpx.AsyncClient, stytch_emulator: StytchEmulator
) -> None:
    outsider = _auth(stytch_emulator.member_session(OTHER_ORG, admin=True))
    response = await http.post(URL, json=_create_body(), headers=outsider)
    assert response.status_code == 403
    assert response.json()["error"] == "session_authorization_tenancy_error"
    assert stytch_emulator.active_token(ORG) is None
    assert (await http.get(URL, headers=outsider)).status_code == 403


async def test_stytch_rate_limit_becomes_429_with_retry_after(
    http: httpx.AsyncClient, stytch_emulator: StytchEmulator
) -> None:
    # Longer than RetryPolicy.max_retry_after (60 s): the client does not sleep it,
    # the app tells its caller when to come back.
    stytch_emulator.script(fault="rate_limit", route="create", retry_after=120)
    admin = _auth(stytch_emulator.member_session(ORG))
    response = await http.post(URL, json=_create_body(), headers=admin)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "120"
    body = response.json()
    assert body["error"] == "rate_limited"
    assert body["request_id"].startswith("request-id-")
    assert stytch_emulator.active_token(ORG) is None


async def test_a_wrong_project_secret_is_502_without_details(
    stytch_emulator: StytchEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "secret-test-this-is-not-the-right-one-000000"
    app = create_app(_factory(stytch_emulator, secret=wrong))
    admin = _auth(stytch_emulator.member_session(ORG))
    with caplog.at_level(logging.WARNING, logger="stytch_scim_async.fastapi"):
        async with serve(app) as http:
            response = await http.post(URL, json=_create_body(), headers=admin)
    assert response.status_code == 502
    body = response.json()
    assert set(body) == {"error", "message", "request_id"}
    assert body["error"] == "upstream_authentication_failed"
    assert body["request_id"].startswith("request-id-")
    for leak in (wrong, stytch_emulator.secret, stytch_emulator.project_id, "unauthorized"):
        assert leak not in response.text
    # The operators, unlike the caller, learn what went wrong.
    assert "unauthorized_credentials" in caplog.text
    assert wrong not in caplog.text


async def test_bad_arguments_are_422_naming_the_argument(
    http: httpx.AsyncClient, stytch_emulator: StytchEmulator
) -> None:
    admin = _auth(stytch_emulator.member_session(ORG))
    blank_idp = await http.post(
        URL, json={"display_name": "Okta", "identity_provider": "   "}, headers=admin
    )
    assert blank_idp.status_code == 422
    assert blank_idp.json()["error"] == "invalid_request"
    assert blank_idp.json()["argument"] == "identity_provider"
    assert blank_idp.json()["request_id"] is None

    control_character = await http.get(
        "/orgs/organization-test-a%0Ab/scim-connection", headers=admin
    )
    assert control_character.status_code == 422
    assert control_character.json()["argument"] == "organization_id"
    assert sum(stytch_emulator.stats.requests.values()) == 0  # rejected before any I/O


async def test_stytch_failures_become_503_and_timeouts_504(
    stytch_emulator: StytchEmulator,
) -> None:
    def make() -> scim.SCIMClient:
        return scim.SCIMClient(
            stytch_emulator.project_id,
            stytch_emulator.secret,
            base_url=stytch_emulator.base_url,
            retry=scim.RetryPolicy.disabled(),
            timeout=scim.Timeout(total=0.3, connect=0.3),
        )

    admin = _auth(stytch_emulator.member_session(ORG))
    # The handlers' own policy (INTERACTIVE_RETRY) makes two attempts: fail both.
    async with serve(create_app(make)) as http:
        stytch_emulator.script(fault="500_before_commit", route="get", times=2)
        failed = await http.get(URL, headers=admin)
        assert failed.status_code == 503
        assert failed.headers["retry-after"] == "5"
        assert failed.json()["error"] == "upstream_error"
        assert failed.json()["request_id"].startswith("request-id-")

        stytch_emulator.script(fault="html_502", route="get", times=2)
        html = await http.get(URL, headers=admin)
        assert html.status_code == 503
        assert "<html" not in html.text.lower()

        stytch_emulator.script(fault="stall_after_commit", route="get", stall_seconds=5, times=2)
        slow = await http.get(URL, headers=admin)
        assert slow.status_code == 504
        assert slow.json()["error"] == "upstream_timeout"


async def test_a_lost_create_reply_is_recovered_by_rotation(
    http: httpx.AsyncClient, stytch_emulator: StytchEmulator
) -> None:
    stytch_emulator.script(fault="500_after_commit", route="create")
    admin = _auth(stytch_emulator.member_session(ORG))
    response = await http.post(URL, json=_create_body(), headers=admin)
    assert response.status_code == 201
    assert response.json()["recovered"] is True
    assert response.json()["bearer_token"] == stytch_emulator.active_token(ORG)


def test_the_module_level_app_reads_its_settings_at_startup_only() -> None:
    # Importing the example (as a server would) needs no credentials or network.
    app = _load_example().app
    assert isinstance(app, FastAPI)
    paths = {route.path for route in app.routes if hasattr(route, "path")}
    assert URL.replace(ORG, "{organization_id}") in paths
