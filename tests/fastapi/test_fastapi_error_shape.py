"""One error shape: every failure an app with `install_error_handlers` answers, whether the
library raised it, FastAPI refused the request, or Starlette found no route, is
`{"error", "message", "request_id"}` plus the documented optional fields, each of a
fixed type; and no secret or token is in any of them but the deliberate hand-over.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

import stytch_scim_async as scim
from stytch_scim_async import errors
from stytch_scim_async.fastapi import (
    SCIMClientDep,
    install_error_handlers,
    scim_client,
    scim_lifespan,
)
from stytch_scim_async.testing import StytchEmulator

ORG = "organization-test-acme"
#: Planted wherever an error could carry text to the caller; it must never arrive.
PLANTED = "planted-value-0123456789abcdef0123456789abcdef"
HANDED_OVER = "next-token-handed-over-0123456789abcdef01234567"

REQUIRED: dict[str, tuple[type, ...]] = {
    "error": (str,),
    "message": (str,),
    "request_id": (str, type(None)),
}
OPTIONAL: dict[str, tuple[type, ...]] = {
    "argument": (str,),
    "retry_after": (int,),
    "connection_id": (str,),
    "next_bearer_token": (str,),
}


def check_shape(response: httpx.Response, secrets: list[str]) -> dict[str, Any]:
    """Assert the one shape and the absence of `secrets`; returns the body."""
    assert response.status_code >= 400
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert isinstance(body, dict)
    assert set(REQUIRED) <= set(body) <= set(REQUIRED) | set(OPTIONAL), body
    for key, value in body.items():
        types = REQUIRED.get(key) or OPTIONAL[key]
        assert isinstance(value, types) and not isinstance(value, bool), (key, value)
    assert re.fullmatch(r"[a-z][a-z0-9_]*", body["error"]), body["error"]
    assert body["message"].strip()
    if "retry_after" in body:
        assert body["retry_after"] >= 1
        assert response.headers["Retry-After"] == str(body["retry_after"])
    if response.status_code in (429, 503):
        assert int(response.headers["Retry-After"]) >= 1
        assert body["retry_after"] == int(response.headers["Retry-After"])
    if "next_bearer_token" in body:
        assert body["error"] == "token_lost"
        assert response.headers["Cache-Control"] == "no-store"
    outside = {key: value for key, value in body.items() if key != "next_bearer_token"}
    text = repr(outside) + repr(dict(response.headers))
    for secret in secrets:
        assert secret not in text
    return body


CONNECTION = scim.SCIMConnection(
    organization_id=ORG,
    connection_id="scim-connection-test-1",
    status="active",
    display_name="Okta",
    identity_provider="okta",
    base_url="https://test.stytch.com/v1/b2b/scim/scim-connection-test-1",
    bearer_token_expires_at=datetime(2030, 1, 1, tzinfo=UTC),
)


def _api(cls: type[errors.APIStatusError], status: int, **fields: Any) -> errors.APIStatusError:
    fields.setdefault("body_excerpt", PLANTED)
    return cls(status_code=status, request_id="request-id-test-1", **fields)


def _in_doubt() -> errors.StytchSCIMError:
    error = _api(errors.ServerError, 500, error_message=PLANTED)
    error.may_have_committed = True
    return error


#: Every kind of library failure, each carrying the planted secret where it could leak:
#: (error, the status and `error` the caller gets).
RAISED: list[tuple[errors.StytchSCIMError, int, str]] = [
    (errors.InvalidRequestError("display_name", "must be a string"), 422, "invalid_request"),
    (errors.ClientClosedError("closing"), 503, "service_unavailable"),
    (
        _api(errors.ConnectionExistsError, 400, error_type="active_scim_connection_exists"),
        409,
        "active_scim_connection_exists",
    ),
    (_api(errors.BadRequestError, 400, error_type="invalid_scim_idp"), 400, "invalid_scim_idp"),
    (
        _api(errors.SDKOriginNotAllowedError, 400, error_type="bad_domain_for_stytch_sdk"),
        502,
        "upstream_misconfigured",
    ),
    (
        _api(errors.UnauthorizedError, 401, error_type="unauthorized_credentials"),
        502,
        "upstream_authentication_failed",
    ),
    (
        _api(
            errors.CustomDomainRequiredError, 401, error_type="cname_required_for_http_only_cookies"
        ),
        502,
        "upstream_misconfigured",
    ),
    (
        _api(errors.ForbiddenError, 403, error_type="session_authorization_error"),
        403,
        "session_authorization_error",
    ),
    (_api(errors.NotFoundError, 404, error_type="session_not_found"), 401, "session_not_found"),
    (
        _api(errors.NotFoundError, 404, error_type="organization_not_found"),
        404,
        "organization_not_found",
    ),
    (_api(errors.RateLimitError, 429, retry_after=20.0), 429, "rate_limited"),
    (_api(errors.RateLimitError, 429), 429, "rate_limited"),
    (_api(errors.ServerError, 500, error_message=PLANTED), 503, "upstream_error"),
    (_api(errors.APIStatusError, 418, error_message=PLANTED), 502, "upstream_error"),
    (errors.ConnectError(f"get: {PLANTED}"), 503, "upstream_unreachable"),
    (errors.TransportError(f"get: {PLANTED}"), 503, "upstream_connection_failed"),
    (errors.RequestTimeoutError(f"get: {PLANTED}"), 504, "upstream_timeout"),
    (errors.RequestTimeoutError(f"get: {PLANTED}", sent=False), 503, "upstream_busy"),
    (
        errors.ResponseDecodeError(PLANTED, status_code=200, body_excerpt=PLANTED),
        502,
        "upstream_bad_response",
    ),
    (errors.TokenLostError(CONNECTION), 502, "token_lost"),
    (errors.TokenLostError(CONNECTION, next_bearer_token=HANDED_OVER), 502, "token_lost"),
    # Nothing proves the connection is the caller's: "rotate it" could revoke an IdP's.
    (errors.TokenLostError(CONNECTION, proven=False), 409, "connection_unverified"),
    # ...unless a recovery already holds its next token: that is handed over.
    (
        errors.TokenLostError(CONNECTION, proven=False, next_bearer_token=HANDED_OVER),
        502,
        "token_lost",
    ),
    (_in_doubt(), 502, "outcome_unknown"),
    (errors.StytchSCIMError(PLANTED), 502, "upstream_error"),
]


class Form(BaseModel):
    display_name: str = Field(min_length=1, max_length=20)


def raising_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/raise/{index}")
    async def fail(index: int) -> None:
        raise RAISED[index][0]

    @app.post("/form")
    async def form(body: Form, x_count: Annotated[int, Header()]) -> None:
        raise AssertionError("not reached")  # pragma: no cover

    @app.get("/own-401")
    async def own() -> None:
        raise HTTPException(401, "Log in first.", headers={"WWW-Authenticate": "Bearer"})

    return app


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as http:
            yield http


@pytest.mark.parametrize(
    "index", range(len(RAISED)), ids=[f"{case[1]}-{case[2]}" for case in RAISED]
)
async def test_every_library_failure_has_the_one_shape(index: int) -> None:
    error, status, kind = RAISED[index]
    async with serve(raising_app()) as http:
        response = await http.get(f"/raise/{index}")
    assert response.status_code == status
    body = check_shape(response, [PLANTED])
    assert body["error"] == kind
    if isinstance(error, errors.InvalidRequestError):
        assert body["argument"] == error.argument
    if isinstance(error, errors.TokenLostError):
        assert body["connection_id"] == CONNECTION.connection_id
        assert body.get("next_bearer_token") == error.next_bearer_token
    else:
        assert "next_bearer_token" not in body


async def test_fastapis_own_failures_have_the_one_shape() -> None:
    async with serve(raising_app()) as http:
        invalid = await http.post(
            "/form", json={"display_name": PLANTED}, headers={"X-Count": PLANTED}
        )
        missing = await http.post("/form", content=b"{not json")
        unknown = await http.get("/no-such-route")
        method = await http.delete("/form")
        own = await http.get("/own-401")
    body = check_shape(invalid, [PLANTED])  # the input is never echoed
    assert (invalid.status_code, body["error"]) == (422, "invalid_request")
    assert body["argument"] in ("display_name", "x-count")
    assert "display_name" in body["message"] and "x-count" in body["message"]
    assert check_shape(missing, [])["error"] == "invalid_request"
    assert (unknown.status_code, check_shape(unknown, [])["error"]) == (404, "not_found")
    assert (method.status_code, check_shape(method, [])["error"]) == (405, "method_not_allowed")
    assert "allow" in method.headers
    assert (own.status_code, check_shape(own, [])) == (
        401,
        {"error": "unauthorized", "message": "Log in first.", "request_id": None},
    )
    assert own.headers["WWW-Authenticate"] == "Bearer"


async def session_token(x_session: Annotated[str, Header(alias="X-Session")]) -> str:
    """The caller's session token, from a header (missing: FastAPI's own 422)."""
    return x_session


#: Module level: FastAPI resolves the handlers' annotations from the module.
Session = Annotated[str, Depends(session_token)]


def stytch_app(emu: StytchEmulator) -> FastAPI:
    """An app against the emulator whose failures are Stytch's real answers."""

    def factory() -> scim.SCIMClient:
        return scim.SCIMClient(emu.project_id, emu.secret, base_url=emu.base_url)

    app = FastAPI(lifespan=scim_lifespan(factory))
    install_error_handlers(app)

    @app.post("/orgs/{organization_id}/connection")
    async def create(organization_id: str, client: SCIMClientDep, token: Session) -> dict[str, str]:
        created = await client.create_connection(organization_id, member_session_token=token)
        return {"connection_id": created.connection.connection_id}

    @app.get("/orgs/{organization_id}/connection")
    async def show(organization_id: str, client: SCIMClientDep, token: Session) -> dict[str, bool]:
        got = await client.get_connection(organization_id, member_session_token=token)
        return {"connection": got.connection is not None}

    return app


async def test_stytchs_real_failures_have_the_one_shape(stytch_emulator: StytchEmulator) -> None:
    emu = stytch_emulator
    admin = emu.member_session(ORG, admin=True)
    viewer = emu.member_session(ORG, admin=False)
    url = f"/orgs/{ORG}/connection"
    seen: dict[str, httpx.Response] = {}
    async with serve(stytch_app(emu)) as http:
        seen["no session"] = await http.get(url)
        seen["unknown session"] = await http.get(url, headers={"X-Session": "session-nope"})
        seen["forbidden"] = await http.post(url, headers={"X-Session": viewer})
        seen["bad organization"] = await http.get(
            "/orgs/organization-test-a%0Ab/connection", headers={"X-Session": admin}
        )
        made = await http.post(url, headers={"X-Session": admin})
        assert made.status_code == 200, made.json()
        seen["exists"] = await http.post(url, headers={"X-Session": admin})
        emu.script(fault="rate_limit", route="get", retry_after=20)
        seen["throttled"] = await http.get(url, headers={"X-Session": admin})
        emu.script(fault="500_before_commit", route="get", times=2)
        seen["failing"] = await http.get(url, headers={"X-Session": admin})
        other = "organization-test-globex"
        emu.script(fault="500_after_commit", route="create", organization_id=other)
        other_admin = emu.member_session(other, admin=True)
        seen["token lost"] = await http.post(
            f"/orgs/{other}/connection", headers={"X-Session": other_admin}
        )
    secrets = [emu.secret, admin, viewer, other_admin, emu.member_session(ORG)]
    secrets += [token for org in (ORG, other) if (token := emu.active_token(org))]
    expected = {
        "no session": (422, "invalid_request"),
        "unknown session": (401, "session_not_found"),
        "forbidden": (403, "session_authorization_error"),
        "bad organization": (422, "invalid_request"),
        "exists": (409, "active_scim_connection_exists"),
        "throttled": (429, "rate_limited"),
        "failing": (503, "upstream_error"),
        "token lost": (409, "connection_unverified"),  # nothing proves it is ours
    }
    got = {}
    for name, response in seen.items():
        got[name] = (response.status_code, check_shape(response, secrets)["error"])
    assert got == expected
    assert seen["throttled"].headers["Retry-After"] == "20"
    assert seen["token lost"].json()["connection_id"].startswith("scim-connection-")


async def test_an_unnamed_status_and_a_bodiless_one() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/odd")
    async def odd() -> None:
        raise HTTPException(499, "Client went away.")

    @app.get("/cached")
    async def cached() -> None:
        raise HTTPException(304)

    async with serve(app) as http:
        unnamed = await http.get("/odd")
        unchanged = await http.get("/cached")
    assert (unnamed.status_code, check_shape(unnamed, [])["error"]) == (499, "http_error")
    assert unnamed.json()["message"] == "Client went away."
    assert (unchanged.status_code, unchanged.content) == (304, b"")


async def test_fastapis_own_failures_can_be_left_to_fastapi() -> None:
    app = FastAPI()
    install_error_handlers(app, http_errors=False)
    async with serve(app) as http:
        unknown = await http.get("/no-such-route")
    assert unknown.json() == {"detail": "Not Found"}


def test_a_route_policy_must_be_a_retry_policy() -> None:
    with pytest.raises(TypeError, match="RetryPolicy"):
        scim_client("patient")  # type: ignore[arg-type]
