"""stytch_scim_async.fastapi: the lifespan, the dependency and the error mapping."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import stytch_scim_async as scim
from stytch_scim_async import errors
from stytch_scim_async.fastapi import (
    INTERACTIVE_RETRY,
    STATE_KEY,
    SCIMClientDep,
    error_response,
    install_error_handlers,
    scim_lifespan,
)
from stytch_scim_async.testing import StytchEmulator

ORG = "organization-test-acme"


def _client(emu: StytchEmulator) -> scim.SCIMClient:
    return scim.SCIMClient(emu.project_id, emu.secret, base_url=emu.base_url, timeout=5)


async def _closed(client: scim.SCIMClient) -> bool:
    try:
        await client.get_connection(ORG)
    except errors.ClientClosedError:
        return True
    return False


async def test_the_lifespan_owns_one_client(stytch_emulator: StytchEmulator) -> None:
    made: list[scim.SCIMClient] = []

    def factory() -> scim.SCIMClient:
        made.append(_client(stytch_emulator))
        return made[-1]

    app = FastAPI(lifespan=scim_lifespan(factory))

    views: list[scim.SCIMClient] = []

    @app.get("/connection")
    async def show(client: SCIMClientDep) -> dict[str, Any]:
        got = await client.get_connection(ORG)
        views.append(client)
        # A view of the lifespan's client under the handlers' policy: the same pool,
        # budget and limiter, so the app still holds exactly one client.
        same = (
            client.rate_limiter is made[0].rate_limiter
            and client.retry_budget is made[0].retry_budget
            and client.retry is INTERACTIVE_RETRY
        )
        return {"same": same, "connection": got.connection is not None}

    assert made == []  # nothing happens before startup
    async with app.router.lifespan_context(app):
        assert getattr(app.state, STATE_KEY) is made[0]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as http:
            first = await http.get("/connection")
            second = await http.get("/connection")
    assert first.json() == second.json() == {"same": True, "connection": False}
    assert len(made) == 1
    assert views[0] is views[1]  # one view for the app's life, not one per request
    assert not hasattr(app.state, STATE_KEY)
    assert await _closed(made[0])


async def test_it_composes_with_the_apps_own_lifespan(stytch_emulator: StytchEmulator) -> None:
    events: list[str] = []
    client = _client(stytch_emulator)

    @asynccontextmanager
    async def own(app: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        # The app's own startup already has the client (to warm up, check config...).
        events.append(f"start, client ready: {get_scim_client_from(app) is client}")
        yield {"greeting": "hello"}
        events.append(f"stop, client still open: {not await _closed(client)}")

    app = FastAPI(lifespan=scim_lifespan(lambda: client, lifespan=own))
    async with app.router.lifespan_context(app) as state:
        assert state == {"greeting": "hello"}
    assert events == ["start, client ready: True", "stop, client still open: True"]
    assert await _closed(client)


def get_scim_client_from(app: FastAPI) -> scim.SCIMClient | None:
    client = getattr(app.state, STATE_KEY, None)
    return client if isinstance(client, scim.SCIMClient) else None


async def test_the_client_is_closed_when_the_apps_startup_fails(
    stytch_emulator: StytchEmulator,
) -> None:
    client = _client(stytch_emulator)

    @asynccontextmanager
    async def broken(app: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("the database is down")
        yield  # pragma: no cover

    app = FastAPI(lifespan=scim_lifespan(lambda: client, lifespan=broken))
    with pytest.raises(RuntimeError, match="database"):
        async with app.router.lifespan_context(app):
            pass  # pragma: no cover
    assert await _closed(client)
    assert not hasattr(app.state, STATE_KEY)


async def test_shutdown_leaves_a_replaced_client_alone(stytch_emulator: StytchEmulator) -> None:
    ours, theirs = _client(stytch_emulator), _client(stytch_emulator)

    @asynccontextmanager
    async def swap(app: FastAPI) -> AsyncIterator[None]:
        setattr(app.state, STATE_KEY, theirs)  # the app installed a client of its own
        yield

    app = FastAPI(lifespan=scim_lifespan(lambda: ours, lifespan=swap))
    async with app.router.lifespan_context(app):
        pass
    assert await _closed(ours)
    assert getattr(app.state, STATE_KEY) is theirs  # not ours to remove or close
    assert not await _closed(theirs)
    await theirs.aclose()


async def test_a_failing_factory_fails_startup() -> None:
    def factory() -> scim.SCIMClient:
        return scim.SCIMClient(project_id="", secret="x")

    app = FastAPI(lifespan=scim_lifespan(factory))
    with pytest.raises(errors.InvalidRequestError, match="project_id"):
        async with app.router.lifespan_context(app):
            pass  # pragma: no cover
    assert not hasattr(app.state, STATE_KEY)


async def test_the_dependency_explains_a_missing_lifespan() -> None:
    app = FastAPI()

    @app.get("/")
    async def show(client: SCIMClientDep) -> None:
        raise AssertionError("not reached")  # pragma: no cover

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as http:
        with pytest.raises(RuntimeError, match="scim_lifespan"):
            await http.get("/")


async def test_installed_handlers_answer_for_the_app(stytch_emulator: StytchEmulator) -> None:
    app = FastAPI(lifespan=scim_lifespan(lambda: _client(stytch_emulator)))
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise errors.ForbiddenError(
            status_code=403, request_id="request-id-test-1", error_type="organization_suspended"
        )

    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://app.test") as http,
    ):
        response = await http.get("/boom")
    assert response.status_code == 403
    assert response.json() == {
        "error": "organization_suspended",
        "message": "The Member is not authorized to perform this action.",
        "request_id": "request-id-test-1",
    }


def _status(cls: type[errors.APIStatusError], status: int, **fields: Any) -> errors.APIStatusError:
    return cls(status_code=status, request_id="request-id-test-9", **fields)


_CONNECTION = scim.SCIMConnection(
    organization_id=ORG,
    connection_id="scim-connection-test-1",
    status="active",
    display_name="Okta",
    identity_provider="okta",
    base_url="https://test.stytch.com/v1/b2b/scim/scim-connection-test-1",
    bearer_token_expires_at=datetime(2030, 1, 1).astimezone(),
)

# (error, status, body["error"], headers that must be present)
CASES: list[tuple[errors.StytchSCIMError, int, str, dict[str, str]]] = [
    (errors.InvalidRequestError("display_name", "must be a string"), 422, "invalid_request", {}),
    (errors.InvalidRequestError("client", "is closed"), 503, "service_unavailable", {}),
    (
        _status(errors.ConnectionExistsError, 400, error_type="active_scim_connection_exists"),
        409,
        "active_scim_connection_exists",
        {},
    ),
    (
        _status(errors.BadRequestError, 400, error_type="invalid_scim_idp", error_message="Bad."),
        400,
        "invalid_scim_idp",
        {},
    ),
    (_status(errors.BadRequestError, 400), 400, "bad_request", {}),
    (
        _status(errors.UnauthorizedError, 401, error_type="invalid_secret_authentication"),
        502,
        "upstream_authentication_failed",
        {},
    ),
    (
        _status(errors.ForbiddenError, 403, error_type="session_authorization_error"),
        403,
        "session_authorization_error",
        {},
    ),
    (
        _status(errors.NotFoundError, 404, error_type="organization_not_found"),
        404,
        "organization_not_found",
        {},
    ),
    (
        _status(errors.NotFoundError, 404, error_type="session_not_found"),
        401,
        "session_not_found",
        {"WWW-Authenticate": "Bearer"},
    ),
    (
        errors.RateLimitError(status_code=429, retry_after=2.1, request_id="request-id-test-9"),
        429,
        "rate_limited",
        {"Retry-After": "3"},
    ),
    (
        errors.RateLimitError(status_code=429, retry_after=None, request_id="request-id-test-9"),
        429,
        "rate_limited",
        {"Retry-After": "1"},
    ),
    (
        errors.RateLimitError(status_code=429, retry_after=0.0, request_id="request-id-test-9"),
        429,
        "rate_limited",
        {"Retry-After": "1"},
    ),
    (_status(errors.ServerError, 500), 503, "upstream_error", {"Retry-After": "5"}),
    (
        _status(errors.ServerError, 503, error_type="server_unavailable"),
        503,
        "upstream_error",
        {"Retry-After": "5"},
    ),
    (_status(errors.APIStatusError, 418), 502, "upstream_error", {}),
    (
        errors.ConnectError("get: could not connect"),
        503,
        "upstream_unreachable",
        {"Retry-After": "5"},
    ),
    (errors.RequestTimeoutError("get: no response"), 504, "upstream_timeout", {}),
    (
        errors.RequestTimeoutError("get: the limiter's next slot is too late", sent=False),
        503,
        "upstream_busy",
        {"Retry-After": "1"},
    ),
    (
        errors.TransportError("get: dropped"),
        503,
        "upstream_connection_failed",
        {"Retry-After": "5"},
    ),
    (
        errors.ResponseDecodeError(
            "not JSON", status_code=200, request_id="request-id-test-9", body_excerpt="<html>"
        ),
        502,
        "upstream_bad_response",
        {},
    ),
    (errors.TokenLostError(_CONNECTION, attempts=2), 502, "token_lost", {}),
    (errors.StytchSCIMError("something new"), 502, "upstream_error", {}),
]


@pytest.mark.parametrize(
    ("error", "status", "kind", "headers"),
    CASES,
    ids=[f"{type(case[0]).__name__}-{case[1]}-{case[2]}" for case in CASES],
)
def test_error_response_table(
    error: errors.StytchSCIMError, status: int, kind: str, headers: dict[str, str]
) -> None:
    response = error_response(error)
    assert response.status_code == status
    body = json.loads(bytes(response.body))
    assert body["error"] == kind
    assert body["request_id"] == error.request_id
    assert isinstance(body["message"], str) and body["message"]
    for name, value in headers.items():
        assert response.headers[name] == value
    if status >= 500:
        # Gateway answers carry fixed texts only: no excerpt, no Stytch detail.
        assert "<html>" not in body["message"]
        assert "invalid_secret_authentication" not in json.dumps(body)


def test_422_names_the_argument_and_token_lost_names_the_connection() -> None:
    invalid = json.loads(
        bytes(error_response(errors.InvalidRequestError("limit", "must be an int")).body)
    )
    assert invalid["argument"] == "limit"
    assert invalid["message"] == "limit: must be an int"
    lost = json.loads(bytes(error_response(errors.TokenLostError(_CONNECTION)).body))
    assert lost["connection_id"] == "scim-connection-test-1"
    assert "next_bearer_token" not in lost
    # A re-issued token the recovery could not confirm reaches the admin, uncached.
    pending = error_response(errors.TokenLostError(_CONNECTION, next_bearer_token="tok-next"))
    assert json.loads(bytes(pending.body))["next_bearer_token"] == "tok-next"
    assert pending.headers["Cache-Control"] == "no-store"


def test_importing_the_package_does_not_import_fastapi() -> None:
    code = (
        "import sys, stytch_scim_async, stytch_scim_async.errors, stytch_scim_async.models\n"
        "assert 'fastapi' not in sys.modules and 'starlette' not in sys.modules\n"
        "import stytch_scim_async.fastapi\n"
        "assert 'fastapi' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
