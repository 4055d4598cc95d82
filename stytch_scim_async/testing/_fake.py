"""The pure fake Stytch: requests in, `FakeResponse` out. No sockets, no asyncio.

`FakeStytch.handle` authenticates, routes, injects faults and runs the
operation; the serving adapter only moves bytes and carries out the I/O-level
fault named by ``FakeResponse.action``.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from ._auth import authorize_member, basic_credentials, check_sdk_client
from ._control import control
from ._faults import AFTER_COMMIT, FaultDecision, FaultInjector, FaultKind, Faults
from ._helpers import EmulatorHelpers
from ._ids import IdFactory, rfc3339
from ._operations import Operations
from ._routes import RouteMatch, match_route
from ._search import search_organizations
from ._settings import Settings
from ._state import EmulatorState, MemberSession, Organization
from ._stats import RequestLogEntry, Stats, new_request_log
from ._wire import (
    ERROR_MESSAGES,
    HTML_502,
    FakeResponse,
    FakeStytchError,
    error_body,
    json_bytes,
    json_object,
    retry_after_header,
)

__all__ = ["FakeStytch"]

_MEMBER_SESSION: Final = "x-stytch-member-session"
_MEMBER_SESSION_JWT: Final = "x-stytch-member-sessionjwt"
_ROTATIONS: Final = frozenset({"rotate_start", "rotate_complete", "rotate_cancel"})
_NO_FAULT: Final = FaultDecision()  # shared and never mutated: the quiet fast path


class FakeStytch(EmulatorHelpers):
    """An in-memory Stytch B2B SCIM API, deterministic from ``seed``.

    Any non-empty organization id exists on first use unless
    ``strict_organizations`` is set (then only `add_organization`'s do).
    ``clock`` returns epoch seconds; it stamps tokens and drives the rate limits.
    ``faults`` is the failure model, ``settings`` the emulator's assumptions about
    Stytch and the project's settings; both may be reassigned mid-test.
    """

    def __init__(
        self,
        *,
        faults: Faults | None = None,
        settings: Settings | None = None,
        seed: int = 0,
        strict_organizations: bool = False,
        clock: Callable[[], float] = time.time,
        base_url: str = "http://127.0.0.1",
        last_page_cursor: str | None = None,
        request_log_size: int = 10_000,
    ) -> None:
        self.seed = seed
        """What the ids, tokens and random faults are drawn from: the same seed, the same run."""
        self.strict_organizations = strict_organizations
        """Whether only added organizations exist (others: 404)."""
        self.clock = clock
        """Epoch seconds: it stamps tokens and drives the rate limits' windows."""
        self._base_url = base_url.rstrip("/")
        self._last_page_cursor = last_page_cursor
        self._request_log_size = request_log_size
        self.injector = FaultInjector(faults or Faults(), seed)
        """Decides each request's fault from `faults`; its counters are the rate limits' state."""
        self._settings = settings if settings is not None else Settings()
        self.initialize()

    def initialize(self) -> None:
        """Build fresh state (the constructor and `reset` call it)."""
        self.ids = IdFactory(self.seed)
        self.project_id = f"project-test-{self.ids.uuid()}"
        self.secret = f"secret-test-{self.ids.alphanumeric(36)}"
        self.public_token = f"public-token-test-{self.ids.uuid()}"
        basic = base64.b64encode(f"{self.project_id}:{self.secret}".encode()).decode()
        self._project_authorization = f"Basic {basic}"
        self.state = EmulatorState()
        self.stats = Stats()
        self.request_log = new_request_log(self._request_log_size)
        self.injector.reset()
        ops = Operations(
            self.state,
            self.ids,
            self.clock,
            self._base_url,
            self._last_page_cursor,
            self._settings,
        )
        self.operations = ops
        self._handlers: dict[str, Callable[[str, str | None, Mapping[str, Any]], dict[str, Any]]]
        self._handlers = {
            "create": ops.create,
            "get": ops.get,
            "update": ops.update,
            "delete": ops.delete,
            "get_groups": ops.get_groups,
            "rotate_start": ops.rotate_start,
            "rotate_complete": ops.rotate_complete,
            "rotate_cancel": ops.rotate_cancel,
        }

    # -- configuration -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Where the fake is served; connections' ``base_url`` is built from it."""
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._base_url = value.rstrip("/")
        self.operations.base_url = self._base_url

    # -- what the helpers and the adapter use ---------------------------------------

    @property
    def _core(self) -> FakeStytch:
        return self

    # -- request handling ----------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> FakeResponse:
        """Answer one HTTP request. ``path`` is the raw (still percent-encoded) path."""
        if path.startswith("/_"):
            return control(self, method, path, body)
        lowered = {name.lower(): value for name, value in headers.items()}
        match = match_route(method, path)
        if match is None:
            return self._answer_unrouted(method)
        session: MemberSession | None = None
        if match.family == "backend":
            organization_id = match.organization_id
        else:
            session = self._sdk_session(lowered)
            organization_id = None if session is None else session.organization_id
        decision = _NO_FAULT
        if not self.injector.idle:
            decision = self.injector.decide(match.route, organization_id, self.clock())
        fault = decision.kind
        request_id = self.ids.request_id()
        if fault is not None and fault not in AFTER_COMMIT:
            response = self._before_commit(fault, decision, request_id)
        else:
            response = self._execute(match, session, lowered, query, body, request_id)
            if fault is not None:
                response = self._after_commit(fault, decision, response, request_id)
        response.delay = decision.delay
        status = 0 if response.action == "drop" else response.status
        self.stats.requests[(match.route, status)] += 1
        if fault is not None:
            self.stats.faults[fault] += 1
        self.request_log.append(
            RequestLogEntry(method, match.route, organization_id, status, fault)
        )
        return response

    def _answer_unrouted(self, method: str) -> FakeResponse:
        request_id = self.ids.request_id()
        self.stats.requests[("unknown", 404)] += 1
        self.request_log.append(RequestLogEntry(method, "unknown", None, 404, None))
        message = ERROR_MESSAGES["route_not_found"]
        return FakeResponse(404, error_body(404, "route_not_found", message, request_id))

    def _before_commit(
        self, fault: FaultKind, decision: FaultDecision, request_id: str
    ) -> FakeResponse:
        if fault == "html_502":
            return FakeResponse(502, HTML_502, content_type="text/html")
        if fault == "drop_before_commit":
            return FakeResponse(0, b"", action="drop")
        if fault == "rate_limit":
            headers = retry_after_header(
                decision.retry_after_format, decision.retry_after, self.clock()
            )
            message = ERROR_MESSAGES["too_many_requests"]
            body = error_body(429, "too_many_requests", message, request_id)
            return FakeResponse(429, body, headers=headers)
        return self._internal_error(request_id)

    def _after_commit(
        self, fault: FaultKind, decision: FaultDecision, response: FakeResponse, request_id: str
    ) -> FakeResponse:
        if fault == "truncated_json":
            response.body = response.body[: len(response.body) // 2]
            response.action = "truncate"
        elif fault == "drop_after_commit":
            response.action = "drop"
        elif fault == "stall_after_commit":
            response.action = "stall"
            response.stall_seconds = decision.stall_seconds
        else:
            return self._internal_error(request_id)
        return response

    @staticmethod
    def _internal_error(request_id: str) -> FakeResponse:
        message = ERROR_MESSAGES["internal_server_error"]
        return FakeResponse(500, error_body(500, "internal_server_error", message, request_id))

    def _sdk_session(self, headers: Mapping[str, str]) -> MemberSession | None:
        credentials = basic_credentials(headers.get("authorization"))
        if credentials is None or credentials[0] != self.public_token:
            return None
        return self.state.sessions.get(credentials[1])

    def known_organization(self, organization_id: str) -> Organization | None:
        """The organization with that id under the fake's rules, or ``None``.

        EMULATOR ASSUMPTION (lenient default): any non-empty id names an organization
        that exists from its first use; with ``strict_organizations`` only added ones.
        """
        organization = self.state.organizations.get(organization_id)
        if organization is None and organization_id and not self.strict_organizations:
            organization = self.state.add_organization(organization_id, rfc3339(self.clock()))
        return organization

    def _searchable(self, value: str) -> Organization | None:
        """The organization an ``organization_ids`` filter value names, or ``None``.

        EMULATOR ASSUMPTION: the filter matches organization ids only. A slug (which
        the SCIM routes' path accepts) matches nothing, and only an id-shaped value
        (``organization-…``) is an organization that exists on first use: the lenient
        rule must not invent organizations the real search would not return."""
        if value in self.state.slugs and self.state.slugs[value] != value:
            return None
        if not value.startswith("organization-"):
            return self.state.organizations.get(value)
        return self.known_organization(value)

    def _check_project(self, headers: Mapping[str, str]) -> None:
        authorization = headers.get("authorization")
        if authorization != self._project_authorization and basic_credentials(authorization) != (
            self.project_id,
            self.secret,
        ):
            raise FakeStytchError(401, "unauthorized_credentials")

    def _backend_organization(self, match: RouteMatch, headers: Mapping[str, str]) -> str:
        self._check_project(headers)
        if not match.organization_id:
            raise FakeStytchError(400, "invalid_organization_id")
        segment = match.organization_id
        if self._settings.resolve_slugs:
            segment = self.state.slugs.get(segment, segment)
        organization = self.known_organization(segment)
        if organization is None:
            raise FakeStytchError(404, "organization_not_found")
        organization_id = organization.organization_id
        for header in (_MEMBER_SESSION, _MEMBER_SESSION_JWT):
            value = headers.get(header)
            if value:
                authorize_member(self.state.sessions.get(value), organization_id)
        return organization_id

    def _execute(
        self,
        match: RouteMatch,
        session: MemberSession | None,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        body: bytes,
        request_id: str,
    ) -> FakeResponse:
        route = match.route
        connection_id = match.connection_id
        try:
            if route == "search_organizations":
                # EMULATOR ASSUMPTION: Member-session headers on a search are not checked.
                self._check_project(headers)
                search = json_object(body)
                payload = search_organizations(self.state, search, self._searchable)
                return self._success(match, payload, request_id)
            if match.family == "backend":
                organization_id = self._backend_organization(match, headers)
                params: Mapping[str, Any] = query if route == "get_groups" else json_object(body)
            else:
                check_sdk_client(self._settings, headers)
                if session is None:
                    raise FakeStytchError(401, "unauthorized_credentials")
                organization_id = session.organization_id
                authorize_member(session, organization_id)
                params = json_object(body)
                if route in _ROTATIONS:
                    connection_id = params.get("connection_id")
                    if not isinstance(connection_id, str) or not connection_id:
                        raise FakeStytchError(400, "bad_request", "connection_id is required.")
                elif route == "get_groups":
                    # The SDK names no connection: the org's active one is meant.
                    connection_id = self.state.active.get(organization_id)
            payload = self._handlers[route](organization_id, connection_id, params)
        except FakeStytchError as exc:
            if exc.error_type == "active_scim_connection_exists":
                self.stats.duplicates += 1
            body = error_body(exc.status, exc.error_type, exc.message, request_id)
            return FakeResponse(exc.status, body)
        self._count_commit(route)
        return self._success(match, payload, request_id)

    @staticmethod
    def _success(match: RouteMatch, payload: dict[str, Any], request_id: str) -> FakeResponse:
        envelope = {"request_id": request_id, "status_code": 200, **payload}
        if match.family == "sdk":
            return FakeResponse(200, json_bytes({"data": envelope}))
        return FakeResponse(200, json_bytes(envelope))

    def _count_commit(self, route: str) -> None:
        stats = self.stats
        if route == "create":
            stats.creates_committed += 1
        elif route == "delete":
            stats.deletes_committed += 1
        elif route == "rotate_start":
            stats.rotations_started += 1
        elif route == "rotate_complete":
            stats.rotations_completed += 1
        elif route == "rotate_cancel":
            stats.rotations_cancelled += 1
