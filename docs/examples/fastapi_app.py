"""An admin console's "SCIM settings" page, as a FastAPI app.

A logged-in organization admin creates, views, rotates and deletes their
organization's SCIM connection. The caller authenticates with its Stytch Member
session token as `Authorization: Bearer <session_token>`; the app passes it on as
`member_session_token=`, so Stytch itself checks the Member's RBAC permissions on
`stytch.scim` and that the session belongs to the organization in the path (a
tenancy mismatch is a 403). The app holds one `SCIMClient` for its whole life.

A bearer token is in the response exactly once: when the connection is created
and when a rotation starts (the next token). Those responses carry
`Cache-Control: no-store`, and nothing is logged but ids.

Handlers take `SCIMClientDep`, so each call is bounded by `INTERACTIVE_RETRY`: when
Stytch throttles or fails, the admin gets a 429 or 503 with `Retry-After` within a
few seconds, and every failure, the app's own 401 included, has one JSON shape.

Run it against the emulator (uvicorn not included):

    python -m stytch_scim_async.testing --port 8765     # prints project_id, secret, ...
    export STYTCH_PROJECT_ID=... STYTCH_SECRET=... STYTCH_BASE_URL=http://127.0.0.1:8765
    uvicorn fastapi_app:app --app-dir docs/examples

`STYTCH_BASE_URL` is read by this app, not by the library; leave it unset to talk
to Stytch (the project id picks test or live).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

import stytch_scim_async as scim
from stytch_scim_async.fastapi import SCIMClientDep, install_error_handlers, scim_lifespan

logger = logging.getLogger("scim_settings")

_bearer = HTTPBearer(auto_error=False, description="The Member's Stytch session token.")


async def member_session_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The caller's session token, which Stytch checks on every call (RBAC)."""
    if credentials is None:
        raise HTTPException(
            status_code=401,
            detail="Send your session token as 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return credentials.credentials


SessionToken = Annotated[str, Depends(member_session_token)]


class ConnectionOut(BaseModel):
    """A connection as the settings page shows it: never more than a token's last four."""

    organization_id: str
    connection_id: str
    status: str
    display_name: str
    identity_provider: str
    base_url: str = Field(description="The SCIM base URL to configure in the IdP.")
    bearer_token_last_four: str
    bearer_token_expires_at: datetime | None
    rotating: bool
    next_bearer_token_last_four: str = ""
    next_bearer_token_expires_at: datetime | None = None


class CreateIn(BaseModel):
    """What the admin fills in."""

    display_name: str = Field(min_length=1, max_length=200)
    identity_provider: str = scim.IdentityProvider.GENERIC


class CreatedOut(BaseModel):
    """The one response that carries the new bearer token."""

    connection: ConnectionOut
    bearer_token: str = Field(description="Shown once: paste it into the IdP now.")
    recovered: bool
    request_id: str


class ConnectionEnvelope(BaseModel):
    """A connection (or none) and Stytch's request id."""

    connection: ConnectionOut | None
    request_id: str


class RotationStartedOut(BaseModel):
    """The one response that carries the next bearer token."""

    connection: ConnectionOut
    next_bearer_token: str = Field(description="Shown once: install it, then complete.")
    request_id: str


class DeletedOut(BaseModel):
    """What a delete reports."""

    connection_id: str
    request_id: str


def _view(connection: scim.SCIMConnection) -> ConnectionOut:
    return ConnectionOut(
        organization_id=connection.organization_id,
        connection_id=connection.connection_id,
        status=connection.status,
        display_name=connection.display_name,
        identity_provider=connection.identity_provider,
        base_url=connection.base_url,
        bearer_token_last_four=connection.bearer_token_last_four,
        bearer_token_expires_at=connection.bearer_token_expires_at,
        rotating=connection.rotating,
        next_bearer_token_last_four=connection.next_bearer_token_last_four,
        next_bearer_token_expires_at=connection.next_bearer_token_expires_at,
    )


def _created_view(connection: scim.SCIMConnectionWithToken) -> ConnectionOut:
    return ConnectionOut(
        organization_id=connection.organization_id,
        connection_id=connection.connection_id,
        status=connection.status,
        display_name=connection.display_name,
        identity_provider=connection.identity_provider,
        base_url=connection.base_url,
        bearer_token_last_four=connection.bearer_token[-4:],
        bearer_token_expires_at=connection.bearer_token_expires_at,
        rotating=False,
    )


def _client_from_environment() -> scim.SCIMClient:
    # STYTCH_PROJECT_ID and STYTCH_SECRET are read by the client itself.
    return scim.SCIMClient(base_url=os.environ.get("STYTCH_BASE_URL") or None)


def create_app(client_factory: Callable[[], scim.SCIMClient] | None = None) -> FastAPI:
    """Build the app; tests pass a factory pointing the client at the emulator."""
    app = FastAPI(
        title="SCIM settings",
        lifespan=scim_lifespan(client_factory or _client_from_environment),
    )
    install_error_handlers(app)
    prefix = "/orgs/{organization_id}/scim-connection"

    @app.post(prefix, status_code=201)
    async def create_connection(
        organization_id: str,
        body: CreateIn,
        client: SCIMClientDep,
        session_token: SessionToken,
        response: Response,
    ) -> CreatedOut:
        """Create the organization's connection and show its token, once."""
        created = await client.create_connection(
            organization_id,
            display_name=body.display_name,
            identity_provider=body.identity_provider,
            member_session_token=session_token,
            # If the reply is lost after Stytch committed, rotate the new connection to
            # get a token rather than leave the admin with a connection nobody can use;
            # checking first that none exists makes sure it is this request's connection
            # (not one a double-submitted form created a moment ago) that gets rotated.
            recover_token=True,
            verify_absent=True,
        )
        connection = created.connection
        logger.info(
            "created SCIM connection %s for %s (request_id=%s, recovered=%s)",
            connection.connection_id,
            organization_id,
            created.request_id,
            created.recovered,
        )
        response.headers["Cache-Control"] = "no-store"
        return CreatedOut(
            connection=_created_view(connection),
            bearer_token=connection.bearer_token,
            recovered=created.recovered,
            request_id=created.request_id,
        )

    @app.get(prefix)
    async def get_connection(
        organization_id: str, client: SCIMClientDep, session_token: SessionToken
    ) -> ConnectionEnvelope:
        """The organization's connection, or `null` when it has none."""
        got = await client.get_connection(organization_id, member_session_token=session_token)
        view = None if got.connection is None else _view(got.connection)
        return ConnectionEnvelope(connection=view, request_id=got.request_id)

    @app.post(prefix + "/{connection_id}/rotation")
    async def start_rotation(
        organization_id: str,
        connection_id: str,
        client: SCIMClientDep,
        session_token: SessionToken,
        response: Response,
    ) -> RotationStartedOut:
        """Issue the next token; the current one keeps working until completion."""
        started = await client.rotate_start(
            organization_id, connection_id, member_session_token=session_token
        )
        logger.info(
            "started token rotation of %s (request_id=%s)", connection_id, started.request_id
        )
        response.headers["Cache-Control"] = "no-store"
        return RotationStartedOut(
            connection=_view(started.connection),
            next_bearer_token=started.connection.next_bearer_token,
            request_id=started.request_id,
        )

    @app.post(prefix + "/{connection_id}/rotation/complete")
    async def complete_rotation(
        organization_id: str, connection_id: str, client: SCIMClientDep, session_token: SessionToken
    ) -> ConnectionEnvelope:
        """Switch to the next token once the IdP uses it; the old one stops working."""
        completed = await client.rotate_complete(
            organization_id, connection_id, member_session_token=session_token
        )
        logger.info(
            "completed token rotation of %s (request_id=%s)", connection_id, completed.request_id
        )
        return ConnectionEnvelope(
            connection=_view(completed.connection), request_id=completed.request_id
        )

    @app.post(prefix + "/{connection_id}/rotation/cancel")
    async def cancel_rotation(
        organization_id: str, connection_id: str, client: SCIMClientDep, session_token: SessionToken
    ) -> ConnectionEnvelope:
        """Abandon a rotation; the current token stays active."""
        cancelled = await client.rotate_cancel(
            organization_id, connection_id, member_session_token=session_token
        )
        return ConnectionEnvelope(
            connection=_view(cancelled.connection), request_id=cancelled.request_id
        )

    @app.delete(prefix + "/{connection_id}")
    async def delete_connection(
        organization_id: str, connection_id: str, client: SCIMClientDep, session_token: SessionToken
    ) -> DeletedOut:
        """Delete the connection; the IdP's token stops working at once."""
        deleted = await client.delete_connection(
            organization_id, connection_id, member_session_token=session_token
        )
        logger.info("deleted SCIM connection %s (request_id=%s)", connection_id, deleted.request_id)
        return DeletedOut(connection_id=deleted.connection_id, request_id=deleted.request_id)

    return app


app = create_app()
