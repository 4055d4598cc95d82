"""One row of data per endpoint, for both ways in.

A parameter named in a path template goes into the path (percent-quoted); the others
go into the query string for GET and into the JSON body otherwise. That one rule
covers every endpoint of the reference, so there is no per-endpoint code.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from .. import models

__all__ = ["ENDPOINTS", "Endpoint", "Mode", "RetryKind", "Route"]


class Mode(enum.Enum):
    """Which API a client speaks: the backend API or the frontend-SDK API."""

    PROJECT = "project"
    MEMBER = "member"


class RetryKind(enum.Enum):
    """How an operation may be retried (see the retry table in the docs)."""

    #: Repeating it is harmless: retried on 429, 5xx, connect errors and timeouts.
    SAFE = "safe"
    #: A create: an ambiguous failure is reconciled with a GET before a new POST.
    CREATE = "create"
    #: Rotate start/complete/cancel: an ambiguous failure is reconciled with a GET.
    ROTATE = "rotate"


@attrs.frozen
class Route:
    """Method and path template of one endpoint in one mode."""

    method: str
    template: str
    path_params: tuple[str, ...] = attrs.field(init=False)

    @path_params.default
    def _path_params(self) -> tuple[str, ...]:
        names = []
        for chunk in self.template.split("{")[1:]:
            names.append(chunk.split("}", 1)[0])
        return tuple(names)


@attrs.frozen
class Endpoint:
    """An operation: its routes, the envelope its success body decodes into, its retry kind."""

    name: str
    project: Route
    member: Route
    response: type[Any]
    retry: RetryKind

    def route(self, mode: Mode) -> Route:
        """The route for `mode`."""
        return self.project if mode is Mode.PROJECT else self.member


_P = "/v1/b2b/scim/{organization_id}/connection"
_M = "/sdk/v1/b2b/scim"

ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint(
            "create",
            Route("POST", _P),
            Route("POST", _M),
            models.CreateConnectionResponse,
            RetryKind.CREATE,
        ),
        Endpoint(
            "get",
            Route("GET", _P),
            Route("GET", _M),
            models.GetConnectionResponse,
            RetryKind.SAFE,
        ),
        Endpoint(
            "update",
            Route("PUT", _P + "/{connection_id}"),
            Route("PUT", _M + "/{connection_id}"),
            models.UpdateConnectionResponse,
            RetryKind.SAFE,
        ),
        Endpoint(
            "delete",
            Route("DELETE", _P + "/{connection_id}"),
            Route("DELETE", _M + "/{connection_id}"),
            models.DeleteConnectionResponse,
            RetryKind.SAFE,
        ),
        Endpoint(
            "get_groups",
            Route("GET", _P + "/{connection_id}"),
            Route("POST", _M + "/groups"),
            models.GetGroupsResponse,
            RetryKind.SAFE,
        ),
        Endpoint(
            "rotate_start",
            Route("POST", _P + "/{connection_id}/rotate/start"),
            Route("POST", _M + "/rotate/start"),
            models.RotateStartResponse,
            RetryKind.ROTATE,
        ),
        Endpoint(
            "rotate_complete",
            Route("POST", _P + "/{connection_id}/rotate/complete"),
            Route("POST", _M + "/rotate/complete"),
            models.RotateCompleteResponse,
            RetryKind.ROTATE,
        ),
        Endpoint(
            "rotate_cancel",
            Route("POST", _P + "/{connection_id}/rotate/cancel"),
            Route("POST", _M + "/rotate/cancel"),
            models.RotateCancelResponse,
            RetryKind.ROTATE,
        ),
        # Backend only (the batch's proof of absence); read-only, so safe to repeat.
        Endpoint(
            "search_organizations",
            Route("POST", "/v1/b2b/organizations/search"),
            Route("POST", "/v1/b2b/organizations/search"),
            models.OrganizationSearchResponse,
            RetryKind.SAFE,
        ),
    )
}
