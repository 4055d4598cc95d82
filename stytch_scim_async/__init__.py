"""Async, typed, retry-safe client for Stytch's B2B SCIM connection API.

`SCIMClient` speaks the backend API (project credentials, explicit organization);
`MemberSCIMClient` speaks the frontend-SDK API as one logged-in Member. Errors are
in `stytch_scim_async.errors` (also re-exported here); the emulator for tests is
`stytch_scim_async.testing`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from . import errors, hooks
    from . import models as models
    from ._clients.member import MemberSCIMClient
    from ._clients.project import SCIMClient
    from ._policy.retry import RetryPolicy
    from ._policy.throttle import AdaptiveRateLimiter, RetryBudget
    from ._provision.handover import ProvisionAbandonedError, ProvisionBatch
    from ._provision.records import (
        ProvisionOutcome,
        ProvisionProgress,
        ProvisionRequest,
        ProvisionStatus,
    )
    from ._sansio.config import AppInfo, Timeout
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

# Every public name is imported at its first use (PEP 562): `import stytch_scim_async`
# loads no model, error or event class, and constructing a `SCIMClient` loads only what
# the client needs (the models, the endpoint table and the hooks load at the first call).
# The submodules (`errors`, `hooks`, `models`) resolve the same way.
_ERRORS = (
    "APIStatusError",
    "BadRequestError",
    "ClientClosedError",
    "ConnectError",
    "ConnectionExistsError",
    "CustomDomainRequiredError",
    "ForbiddenError",
    "InvalidRequestError",
    "NotFoundError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseDecodeError",
    "SDKOriginNotAllowedError",
    "ServerError",
    "StytchSCIMError",
    "TokenLostError",
    "TransportError",
    "UnauthorizedError",
)
_MODELS = (
    "CreateConnectionResponse",
    "DeleteConnectionResponse",
    "GetConnectionResponse",
    "GetGroupsResponse",
    "IdentityProvider",
    "RoleAssignment",
    "RotateCancelResponse",
    "RotateCompleteResponse",
    "RotateStartResponse",
    "SCIMConnection",
    "SCIMConnectionWithNextToken",
    "SCIMConnectionWithToken",
    "SCIMGroup",
    "SCIMGroupImplicitRoleAssignment",
    "UpdateConnectionResponse",
)
_LAZY = {
    **dict.fromkeys(_ERRORS, ".errors"),
    **dict.fromkeys(_MODELS, ".models"),
    "AdaptiveRateLimiter": "._policy.throttle",
    "AppInfo": "._sansio.config",
    "MemberSCIMClient": "._clients.member",
    "ProvisionAbandonedError": "._provision.handover",
    "ProvisionBatch": "._provision.handover",
    "ProvisionOutcome": "._provision.records",
    "ProvisionProgress": "._provision.records",
    "ProvisionRequest": "._provision.records",
    "ProvisionStatus": "._provision.records",
    "RetryBudget": "._policy.throttle",
    "RetryPolicy": "._policy.retry",
    "SCIMClient": "._clients.project",
    "Timeout": "._sansio.config",
}
_SUBMODULES = frozenset({"errors", "hooks", "models"})


def __getattr__(name: str) -> Any:
    from importlib import import_module

    if name in _SUBMODULES:
        value = import_module(f".{name}", __name__)
    else:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
