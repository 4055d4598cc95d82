"""One row of data per endpoint, for both ways in.

A parameter named in a path template goes into the path (percent-quoted); the others
go into the query string for GET and into the JSON body otherwise. That one rule
covers every endpoint of the reference, so there is no per-endpoint code.
"""

from __future__ import annotations

import enum
import threading
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

if TYPE_CHECKING:
    from .. import models

__all__ = [
    "CREATE",
    "DELETE",
    "ENDPOINTS",
    "GET",
    "GET_GROUPS",
    "ROTATE_CANCEL",
    "ROTATE_COMPLETE",
    "ROTATE_START",
    "SEARCH_ORGANIZATIONS",
    "UPDATE",
    "Endpoint",
    "Mode",
    "RetryKind",
    "Route",
]

R = TypeVar("R")


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


@attrs.frozen(cache_hash=True)  # hashed on every call (`endpoint in ROTATIONS`)
class Endpoint(Generic[R]):
    """An operation: its routes, the envelope `R` its success body decodes into, its
    retry kind. The engine returns `R`, so a call site needs no annotation or cast."""

    name: str
    project: Route
    member: Route
    response: type[R]
    retry: RetryKind

    def route(self, mode: Mode) -> Route:
        """The route for `mode`."""
        return self.project if mode is Mode.PROJECT else self.member


_P = "/v1/b2b/scim/{organization_id}/connection"
_M = "/sdk/v1/b2b/scim"

# The table is built at its first use (PEP 562 `__getattr__`), not with the module:
# its envelopes are the models, which constructing a client does not need.
if TYPE_CHECKING:
    CREATE: Endpoint[models.CreateConnectionResponse]
    GET: Endpoint[models.GetConnectionResponse]
    UPDATE: Endpoint[models.UpdateConnectionResponse]
    DELETE: Endpoint[models.DeleteConnectionResponse]
    GET_GROUPS: Endpoint[models.GetGroupsResponse]
    ROTATE_START: Endpoint[models.RotateStartResponse]
    ROTATE_COMPLETE: Endpoint[models.RotateCompleteResponse]
    ROTATE_CANCEL: Endpoint[models.RotateCancelResponse]
    SEARCH_ORGANIZATIONS: Endpoint[models.OrganizationSearchResponse]
    ENDPOINTS: dict[str, Endpoint[Any]]
    """Every endpoint by its operation name (the emulator and the tests look them up)."""

_TABLE = frozenset(
    {
        "CREATE",
        "GET",
        "UPDATE",
        "DELETE",
        "GET_GROUPS",
        "ROTATE_START",
        "ROTATE_COMPLETE",
        "ROTATE_CANCEL",
        "SEARCH_ORGANIZATIONS",
        "ENDPOINTS",
    }
)
_BUILDING = threading.Lock()


def _table() -> dict[str, Endpoint[Any]]:
    from .. import models

    return {
        "CREATE": Endpoint(
            "create",
            Route("POST", _P),
            Route("POST", _M),
            models.CreateConnectionResponse,
            RetryKind.CREATE,
        ),
        "GET": Endpoint(
            "get",
            Route("GET", _P),
            Route("GET", _M),
            models.GetConnectionResponse,
            RetryKind.SAFE,
        ),
        "UPDATE": Endpoint(
            "update",
            Route("PUT", _P + "/{connection_id}"),
            Route("PUT", _M + "/{connection_id}"),
            models.UpdateConnectionResponse,
            RetryKind.SAFE,
        ),
        "DELETE": Endpoint(
            "delete",
            Route("DELETE", _P + "/{connection_id}"),
            Route("DELETE", _M + "/{connection_id}"),
            models.DeleteConnectionResponse,
            RetryKind.SAFE,
        ),
        "GET_GROUPS": Endpoint(
            "get_groups",
            Route("GET", _P + "/{connection_id}"),
            Route("POST", _M + "/groups"),
            models.GetGroupsResponse,
            RetryKind.SAFE,
        ),
        "ROTATE_START": Endpoint(
            "rotate_start",
            Route("POST", _P + "/{connection_id}/rotate/start"),
            Route("POST", _M + "/rotate/start"),
            models.RotateStartResponse,
            RetryKind.ROTATE,
        ),
        "ROTATE_COMPLETE": Endpoint(
            "rotate_complete",
            Route("POST", _P + "/{connection_id}/rotate/complete"),
            Route("POST", _M + "/rotate/complete"),
            models.RotateCompleteResponse,
            RetryKind.ROTATE,
        ),
        "ROTATE_CANCEL": Endpoint(
            "rotate_cancel",
            Route("POST", _P + "/{connection_id}/rotate/cancel"),
            Route("POST", _M + "/rotate/cancel"),
            models.RotateCancelResponse,
            RetryKind.ROTATE,
        ),
        # Backend only (the batch's proof of absence); read-only, so safe to repeat.
        "SEARCH_ORGANIZATIONS": Endpoint(
            "search_organizations",
            Route("POST", "/v1/b2b/organizations/search"),
            Route("POST", "/v1/b2b/organizations/search"),
            models.OrganizationSearchResponse,
            RetryKind.SAFE,
        ),
    }


def __getattr__(name: str) -> Any:
    """The table's names, built once, at the first that is read (under a lock: every
    thread sees the same `Endpoint` objects)."""
    if name not in _TABLE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _BUILDING:
        if "ENDPOINTS" not in globals():
            table = _table()
            globals().update(table)
            globals()["ENDPOINTS"] = {endpoint.name: endpoint for endpoint in table.values()}
    return globals()[name]
