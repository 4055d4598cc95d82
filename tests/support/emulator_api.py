"""Helpers shared by the emulator tests: call a FakeStytch the way a client would."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import pydantic

from stytch_scim_async.testing import FakeResponse, FakeStytch, Faults

ORG = "organization-test-07971b06-ac8b-4cdb-9c15-63b17e653931"
OTHER_ORG = "organization-test-11111111-2222-4333-8444-555555555555"


def basic(user: str, password: str) -> str:
    """An ``Authorization: Basic`` header value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def backend_path(organization_id: str, *rest: str) -> str:
    """``/v1/b2b/scim/{org}/connection[/...]`` with the org percent-quoted."""
    path = f"/v1/b2b/scim/{quote(organization_id, safe='')}/connection"
    return "/".join([path, *(quote(part, safe="") for part in rest)])


class Api:
    """A tiny synchronous client for :class:`FakeStytch` (no sockets)."""

    def __init__(self, fake: FakeStytch) -> None:
        self.fake = fake

    @property
    def project_auth(self) -> str:
        return basic(self.fake.project_id, self.fake.secret)

    def backend(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | bytes | None = None,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        authorization: str | None = "project",
    ) -> FakeResponse:
        all_headers = {"Content-Type": "application/json"}
        if authorization == "project":
            all_headers["Authorization"] = self.project_auth
        elif authorization is not None:
            all_headers["Authorization"] = authorization
        all_headers.update(headers or {})
        raw = (
            body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        )
        return self.fake.handle(method, path, query or {}, all_headers, raw)

    def sdk(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        session: str,
        public_token: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FakeResponse:
        token = self.fake.public_token if public_token is None else public_token
        headers = {"authorization": basic(token, session), **(headers or {})}
        raw = b"" if body is None else json.dumps(body).encode()
        return self.fake.handle(method, "/sdk/v1/b2b/scim" + path, {}, headers, raw)

    def search(self, body: Mapping[str, Any] | bytes | None = None, **options: Any) -> FakeResponse:
        """``POST /v1/b2b/organizations/search``."""
        return self.backend("POST", "/v1/b2b/organizations/search", body, **options)

    def create(self, organization_id: str = ORG, **body: Any) -> FakeResponse:
        return self.backend("POST", backend_path(organization_id), body)

    def created(self, organization_id: str = ORG, **body: Any) -> dict[str, Any]:
        response = self.create(organization_id, **body)
        assert response.status == 200, response.body
        connection: dict[str, Any] = response.json()["connection"]
        return connection


def error_of(response: FakeResponse) -> tuple[int, str]:
    """``(status, error_type)`` of an error response, checking the body's shape."""
    body = response.json()
    assert set(body) == {"status_code", "request_id", "error_type", "error_message", "error_url"}
    assert body["status_code"] == response.status
    assert body["error_url"] == f"https://stytch.com/docs/api/errors/{response.status}"
    return response.status, str(body["error_type"])


class Clock:
    """A hand-driven clock."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def api_with(faults: Faults, *, clock: Clock | None = None, seed: int = 0) -> Api:
    return Api(FakeStytch(faults=faults, seed=seed, clock=clock or Clock()))


def assert_official_shape(value: Mapping[str, Any], model: type[pydantic.BaseModel]) -> None:
    """``value`` has every field the official SDK's ``model`` requires and no other key
    than the model's: only shapes an official source has are asserted."""
    fields = model.model_fields
    required = {name for name, info in fields.items() if info.is_required()}
    assert required <= set(value), sorted(required - set(value))
    assert set(value) <= set(fields), sorted(set(value) - set(fields))
