"""Request handlers answer fast: a throttled or failing Stytch is answered at once (429 or
503 with a `Retry-After` the caller can honour), not waited out as a batch would, and a
create whose outcome is unknown is never passed off as a plain "try again".

Each test drives a FastAPI app through httpx's ASGI transport against an emulator that
throttles or fails, and asserts on what the emulator saw and what the caller got.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI

import stytch_scim_async as scim
from stytch_scim_async.fastapi import (
    INTERACTIVE_RETRY,
    SCIMClientDep,
    install_error_handlers,
    scim_client,
    scim_lifespan,
)
from stytch_scim_async.testing import Faults, RateLimit, StytchEmulator
from stytch_scim_async.testing.pytest_plugin import EmulatorFactory

ORG = "organization-test-acme"
#: The start of a clock minute, so a 60 s window's Retry-After is exactly 60.
MINUTE = 1_700_000_040.0
#: Generous: the bound is INTERACTIVE_RETRY's, a few seconds; a batch would wait minutes.
FAST = 5.0


class Clock:
    """The emulator's hand-driven clock (epoch seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """Records the delays a policy asked for instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


#: A route's choice: the client's own (batch) policy. Aliases live at module level, where
#: FastAPI can resolve them.
BatchClient = Annotated[scim.SCIMClient, Depends(scim_client(None))]


def make_app(emu: StytchEmulator, retry: scim.RetryPolicy | None = None) -> FastAPI:
    """An app whose client has the library's batch defaults (`retry`, if given)."""

    def factory() -> scim.SCIMClient:
        return scim.SCIMClient(emu.project_id, emu.secret, base_url=emu.base_url, retry=retry)

    app = FastAPI(lifespan=scim_lifespan(factory))
    install_error_handlers(app)

    @app.get("/orgs/{organization_id}/connection")
    async def show(organization_id: str, client: SCIMClientDep) -> dict[str, Any]:
        got = await client.get_connection(organization_id)
        return {"connection": got.connection is not None}

    @app.post("/orgs/{organization_id}/connection", status_code=201)
    async def create(organization_id: str, client: SCIMClientDep) -> dict[str, Any]:
        created = await client.create_connection(organization_id, recover_token=True)
        return {"bearer_token": created.connection.bearer_token}

    @app.post("/orgs/{organization_id}/plain-connection", status_code=201)
    async def create_plainly(organization_id: str, client: SCIMClientDep) -> dict[str, Any]:
        created = await client.create_connection(organization_id)  # no look first
        return {"bearer_token": created.connection.bearer_token}

    @app.get("/batch/{organization_id}/connection")
    async def show_patiently(organization_id: str, client: BatchClient) -> dict[str, Any]:
        got = await client.get_connection(organization_id)
        return {"connection": got.connection is not None}

    return app


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as http:
            yield http


async def timed(call: Callable[[], Any]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call()
    return response, time.monotonic() - started


def throttled_gets() -> Faults:
    """One GET per clock minute, and 429s that say how long until the next one."""
    rule = RateLimit(limit=1, window=60.0, routes=frozenset({"get"}))
    return Faults(rate_limits=(rule,), retry_after="seconds")


def test_the_handlers_policy_bounds_a_requests_wait() -> None:
    policy = INTERACTIVE_RETRY
    assert policy.deadline is not None and policy.deadline <= 5
    assert policy.max_attempts <= 2
    assert policy.max_retry_after <= 1


async def test_a_throttled_get_is_answered_429_at_once(
    stytch_emulator_factory: EmulatorFactory,
) -> None:
    emu = await stytch_emulator_factory(throttled_gets(), clock=Clock(MINUTE))
    async with serve(make_app(emu)) as http:
        first = await http.get(f"/orgs/{ORG}/connection")
        assert first.status_code == 200
        throttled, elapsed = await timed(lambda: http.get(f"/orgs/{ORG}/connection"))
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "60"  # Stytch's hint, passed on
    body = throttled.json()
    assert body["error"] == "rate_limited"
    assert body["retry_after"] == 60
    assert body["request_id"].startswith("request-id-")
    # One attempt: a Retry-After of 60 s is not something a person waits for.
    assert emu.stats.count("get") == 2
    assert emu.stats.count("get", 429) == 1
    assert elapsed < FAST


async def test_a_route_may_choose_the_patient_policy(
    stytch_emulator_factory: EmulatorFactory,
) -> None:
    # The same throttle, on a route whose dependency is scim_client(None): the client's
    # own (batch) policy, which sleeps a Retry-After of up to 60 s and tries 3 times.
    emu = await stytch_emulator_factory(throttled_gets(), clock=Clock(MINUTE))
    sleeps = Sleeps()
    async with serve(make_app(emu, scim.RetryPolicy(sleep=sleeps))) as http:
        assert (await http.get(f"/batch/{ORG}/connection")).status_code == 200
        patient = await http.get(f"/batch/{ORG}/connection")
    assert patient.status_code == 429  # the clock never moved: every attempt throttled
    assert emu.stats.count("get", 429) == 3
    assert len(sleeps.delays) >= 2 and all(delay >= 60 for delay in sleeps.delays[:2])


async def test_a_throttled_create_is_answered_429_and_nothing_is_created(
    stytch_emulator: StytchEmulator,
) -> None:
    stytch_emulator.script(fault="rate_limit", route="create", retry_after=20)
    async with serve(make_app(stytch_emulator)) as http:
        response, elapsed = await timed(lambda: http.post(f"/orgs/{ORG}/connection"))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "20"
    assert response.json()["error"] == "rate_limited"
    assert stytch_emulator.stats.count("create") == 1
    assert stytch_emulator.stats.creates_committed == 0
    assert stytch_emulator.active_token(ORG) is None
    assert elapsed < FAST


async def test_a_throttle_without_retry_after_gets_a_default(
    stytch_emulator_factory: EmulatorFactory,
) -> None:
    # Stytch's normal case: a 429 with no Retry-After at all.
    rule = RateLimit(limit=1, window=60.0, routes=frozenset({"get"}))
    emu = await stytch_emulator_factory(Faults(rate_limits=(rule,)), clock=Clock(MINUTE))
    async with serve(make_app(emu)) as http:
        await http.get(f"/orgs/{ORG}/connection")
        response, elapsed = await timed(lambda: http.get(f"/orgs/{ORG}/connection"))
    # Stytch's 429 (429), or the client's limiter finding no slot before the deadline
    # after learning the window (503 upstream_busy): either way at once, with a wait.
    assert (response.status_code, response.json()["error"]) in (
        (429, "rate_limited"),
        (503, "upstream_busy"),
    )
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["retry_after"] == int(response.headers["Retry-After"])
    assert emu.stats.count("get") <= 1 + INTERACTIVE_RETRY.max_attempts
    assert elapsed < FAST


async def test_a_5xx_storm_is_answered_503_after_two_attempts(
    stytch_emulator_factory: EmulatorFactory,
) -> None:
    emu = await stytch_emulator_factory(Faults(p_500_before_commit=1.0, routes=frozenset({"get"})))
    async with serve(make_app(emu)) as http:
        response, elapsed = await timed(lambda: http.get(f"/orgs/{ORG}/connection"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    body = response.json()
    assert body["error"] == "upstream_error"
    assert body["retry_after"] == 5
    assert emu.stats.count("get", 500) == INTERACTIVE_RETRY.max_attempts == 2
    assert elapsed < FAST


async def test_a_create_that_certainly_did_not_commit_is_503(
    stytch_emulator_factory: EmulatorFactory,
) -> None:
    # Every POST fails before committing and each reconciling GET proves nothing was
    # made: the outcome is known, so "try again" is the truth.
    emu = await stytch_emulator_factory(
        Faults(p_500_before_commit=1.0, routes=frozenset({"create"}))
    )
    async with serve(make_app(emu)) as http:
        response, elapsed = await timed(lambda: http.post(f"/orgs/{ORG}/connection"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert emu.stats.creates_committed == 0
    assert emu.stats.count("create") == INTERACTIVE_RETRY.max_attempts
    assert elapsed < FAST


async def test_a_create_whose_outcome_is_unknown_is_never_a_plain_503(
    stytch_emulator: StytchEmulator,
) -> None:
    # The POST commits and its answer is lost; every GET that would tell fails too.
    stytch_emulator.script(fault="500_after_commit", route="create")
    stytch_emulator.script(fault="500_before_commit", route="get", times=10)
    async with serve(make_app(stytch_emulator)) as http:
        response, elapsed = await timed(lambda: http.post(f"/orgs/{ORG}/plain-connection"))
    assert stytch_emulator.stats.creates_committed == 1
    assert response.status_code == 502
    assert "Retry-After" not in response.headers  # not "come back and do it again"
    body = response.json()
    assert body["error"] == "outcome_unknown"
    assert "reload" in body["message"]
    token = stytch_emulator.active_token(ORG)
    assert token is not None and token not in response.text
    assert elapsed < FAST


async def test_a_lost_create_reply_still_hands_over_the_token_fast(
    stytch_emulator: StytchEmulator,
) -> None:
    # The token promise under the handlers' short policy: the reply is lost, the
    # reconciliation finds the connection, and the recovered token is the answer.
    stytch_emulator.script(fault="500_after_commit", route="create")
    async with serve(make_app(stytch_emulator)) as http:
        response, elapsed = await timed(lambda: http.post(f"/orgs/{ORG}/connection"))
    assert stytch_emulator.stats.creates_committed == 1
    assert response.status_code == 201
    assert response.json()["bearer_token"] == stytch_emulator.active_token(ORG)
    assert elapsed < FAST
