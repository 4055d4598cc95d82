"""Async, typed, retry-safe client for Stytch's B2B SCIM connection API.

`SCIMClient` speaks the backend API (project credentials, explicit organization);
`MemberSCIMClient` speaks the frontend-SDK API as one logged-in Member. Errors are
in `stytch_scim_async.errors` (also re-exported here); the emulator for tests is
`stytch_scim_async.testing`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors, hooks
from ._clients.project import SCIMClient
from ._policy.retry import RetryPolicy
from ._policy.throttle import AdaptiveRateLimiter, RetryBudget
from ._sansio.config import AppInfo, Timeout
from ._version import __version__
from .errors import (
    APIStatusError,
    BadRequestError,
    ClientClosedError,
    ConnectError,
    ConnectionExistsError,
    CustomDomainRequiredError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    RequestTimeoutError,
    ResponseDecodeError,
    SDKOriginNotAllowedError,
    ServerError,
    StytchSCIMError,
    TokenLostError,
    TransportError,
    UnauthorizedError,
)
from .models import (
    CreateConnectionResponse,
    DeleteConnectionResponse,
    GetConnectionResponse,
    GetGroupsResponse,
    IdentityProvider,
    RoleAssignment,
    RotateCancelResponse,
    RotateCompleteResponse,
    RotateStartResponse,
    SCIMConnection,
    SCIMConnectionWithNextToken,
    SCIMConnectionWithToken,
    SCIMGroup,
    SCIMGroupImplicitRoleAssignment,
    UpdateConnectionResponse,
)

if TYPE_CHECKING:
    from ._clients.member import MemberSCIMClient
    from ._provision.handover import ProvisionAbandonedError, ProvisionBatch
    from ._provision.records import (
        ProvisionOutcome,
        ProvisionProgress,
        ProvisionRequest,
        ProvisionStatus,
    )

__all__ = [
    "APIStatusError",
    "AdaptiveRateLimiter",
    "AppInfo",
    "BadRequestError",
    "ClientClosedError",
    "ConnectError",
    "ConnectionExistsError",
    "CreateConnectionResponse",
    "CustomDomainRequiredError",
    "DeleteConnectionResponse",
    "ForbiddenError",
    "GetConnectionResponse",
    "GetGroupsResponse",
    "IdentityProvider",
    "InvalidRequestError",
    "MemberSCIMClient",
    "NotFoundError",
    "ProvisionAbandonedError",
    "ProvisionBatch",
    "ProvisionOutcome",
    "ProvisionProgress",
    "ProvisionRequest",
    "ProvisionStatus",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseDecodeError",
    "RetryBudget",
    "RetryPolicy",
    "RoleAssignment",
    "RotateCancelResponse",
    "RotateCompleteResponse",
    "RotateStartResponse",
    "SCIMClient",
    "SCIMConnection",
    "SCIMConnectionWithNextToken",
    "SCIMConnectionWithToken",
    "SCIMGroup",
    "SCIMGroupImplicitRoleAssignment",
    "SDKOriginNotAllowedError",
    "ServerError",
    "StytchSCIMError",
    "Timeout",
    "TokenLostError",
    "TransportError",
    "UnauthorizedError",
    "UpdateConnectionResponse",
    "__version__",
    "errors",
    "hooks",
]

# Imported at first use: constructing a `SCIMClient` needs neither the member client
# nor the batch machinery, and importing them would cost every process that starts.
_LAZY = {
    "MemberSCIMClient": "._clients.member",
    "ProvisionAbandonedError": "._provision.handover",
    "ProvisionBatch": "._provision.handover",
    "ProvisionOutcome": "._provision.records",
    "ProvisionProgress": "._provision.records",
    "ProvisionRequest": "._provision.records",
    "ProvisionStatus": "._provision.records",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
