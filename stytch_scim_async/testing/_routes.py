"""Route matching for the backend and frontend-SDK SCIM endpoints and the search.

A path is split on ``/`` and matched segment by segment (no regular expressions on
the hot path); each path parameter is percent-decoded after splitting, so an
encoded ``/`` stays inside its segment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import unquote

__all__ = ["ROUTES", "SCIM_ROUTES", "Family", "RouteMatch", "match_route"]

ROUTES: Final[frozenset[str]] = frozenset(
    {
        "create",
        "get",
        "update",
        "delete",
        "get_groups",
        "rotate_start",
        "rotate_complete",
        "rotate_cancel",
        "search_organizations",
    }
)
"""Route names: the eight SCIM operations (shared by the backend and the frontend-SDK
endpoints) and ``search_organizations`` (backend only)."""

SCIM_ROUTES: Final[frozenset[str]] = ROUTES - {"search_organizations"}
"""The eight SCIM connection operations."""

Family = Literal["backend", "sdk"]
"""``backend``: project credentials, explicit org. ``sdk``: a Member session."""

_ROTATE: Final[Mapping[str, str]] = {
    "start": "rotate_start",
    "complete": "rotate_complete",
    "cancel": "rotate_cancel",
}
_BACKEND_CONNECTION: Final[Mapping[str, str]] = {
    "PUT": "update",
    "DELETE": "delete",
    "GET": "get_groups",
}
_SDK_CONNECTION: Final[Mapping[str, str]] = {"PUT": "update", "DELETE": "delete"}


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A request's route name, its API family and its path parameters."""

    route: str
    family: Family
    organization_id: str | None = None
    connection_id: str | None = None


def _decode(segment: str) -> str:
    return unquote(segment) if "%" in segment else segment


def _backend(method: str, parts: list[str]) -> RouteMatch | None:
    # parts: "", "v1", "b2b", "scim", {org}, "connection", ...
    if len(parts) < 6 or parts[5] != "connection":
        return None
    org = _decode(parts[4])
    if len(parts) == 6:
        if method == "POST":
            return RouteMatch("create", "backend", org)
        if method == "GET":
            return RouteMatch("get", "backend", org)
        return None
    connection_id = _decode(parts[6])
    if len(parts) == 7:
        route = _BACKEND_CONNECTION.get(method)
        return None if route is None else RouteMatch(route, "backend", org, connection_id)
    if len(parts) == 9 and parts[7] == "rotate" and method == "POST":
        route = _ROTATE.get(parts[8])
        return None if route is None else RouteMatch(route, "backend", org, connection_id)
    return None


def _sdk(method: str, parts: list[str]) -> RouteMatch | None:
    # parts: "", "sdk", "v1", "b2b", "scim", ...
    if len(parts) == 5:
        if method == "POST":
            return RouteMatch("create", "sdk")
        if method == "GET":
            return RouteMatch("get", "sdk")
        return None
    if len(parts) == 6:
        if parts[5] == "groups" and method == "POST":
            return RouteMatch("get_groups", "sdk")
        route = _SDK_CONNECTION.get(method)
        return None if route is None else RouteMatch(route, "sdk", None, _decode(parts[5]))
    if len(parts) == 7 and parts[5] == "rotate" and method == "POST":
        route = _ROTATE.get(parts[6])
        return None if route is None else RouteMatch(route, "sdk")
    return None


_SEARCH: Final = RouteMatch("search_organizations", "backend")


def match_route(method: str, path: str) -> RouteMatch | None:
    """The route a request targets, or ``None`` (answered ``route_not_found``)."""
    parts = path.split("/")
    if len(parts) < 5 or parts[0] != "":
        return None
    if len(parts) == 5 and parts[1:5] == ["v1", "b2b", "organizations", "search"]:
        return _SEARCH if method == "POST" else None
    if parts[1] == "v1" and parts[2] == "b2b" and parts[3] == "scim":
        return _backend(method, parts)
    if parts[1:5] == ["sdk", "v1", "b2b", "scim"]:
        return _sdk(method, parts)
    return None
