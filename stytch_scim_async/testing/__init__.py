"""A Stytch B2B SCIM emulator for tests, demos and benchmarks.

`StytchEmulator` serves a fake Stytch over HTTP on ``127.0.0.1``; it
answers every backend (``/v1/b2b/scim/{organization_id}/connection...``) and
frontend-SDK (``/sdk/v1/b2b/scim...``) SCIM connection endpoint, and the
organizations search (``POST /v1/b2b/organizations/search``), with the same JSON
shapes, error bodies, authentication and RBAC rules as Stytch, deterministically
from a seed. `Faults` adds latency, rate limits (fixed windows aligned to the
clock as Stytch counts them, or a token bucket; ``Retry-After`` absent by default,
or as delta-seconds or an HTTP-date), 500s before or after the commit, HTML 502s,
truncated JSON, dropped connections and stalls; `StytchEmulator.script` injects a
fault into the next N matching requests. `Settings` holds the emulator's labelled
assumptions about Stytch (default identity provider, the identity-provider
allow-list, organization slugs, whether a GET may answer a deleted connection) and
the project's frontend-SDK gates (allowed origins, HttpOnly cookies with a custom
domain). `FakeStytch` is the same fake without any I/O. The fake writes plain
dicts and never uses this library's models, so a bug in them cannot hide here.

Route names (for ``Faults.routes``, ``script(route=...)`` and the stats):
``create``, ``get``, ``update``, ``delete``, ``get_groups``, ``rotate_start``,
``rotate_complete``, ``rotate_cancel`` and ``search_organizations``.

Control routes, never faulted, rate limited or authenticated:

``GET /_stats``
    the stats as JSON (`Stats.to_dict`).
``POST /_reset``
    forget all state, stats, scripts and sessions (credentials stay).
``GET /_tokens``
    ``{organization_id: active bearer token}``.
``POST /_sessions``
    body ``{"organization_id": ..., "admin": true}``: a new Member session,
    answered as ``{organization_id, member_id, session_token, session_jwt, admin}``.

From a shell: ``python -m stytch_scim_async.testing --port 8765`` (``--help`` lists
the fault flags) prints ``base_url=``, ``project_id=``, ``secret=`` and
``public_token=`` lines and serves until interrupted. With pytest, the
``stytch_emulator`` and ``stytch_emulator_factory`` fixtures are available once
the package is installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._cli import main
    from ._fake import FakeStytch
    from ._faults import (
        DEFAULT_SEARCH_RATE_LIMIT,
        FAULT_KINDS,
        ROUTES,
        FaultKind,
        Faults,
        RetryAfterMode,
    )
    from ._ratelimit import RateLimit, RateLimitMode
    from ._server import StytchEmulator
    from ._settings import IDENTITY_PROVIDERS, Settings
    from ._state import Connection, EmulatorState, MemberSession
    from ._stats import RequestLogEntry, Stats
    from ._wire import FakeResponse

__all__ = [
    "DEFAULT_SEARCH_RATE_LIMIT",
    "FAULT_KINDS",
    "IDENTITY_PROVIDERS",
    "ROUTES",
    "Connection",
    "EmulatorState",
    "FakeResponse",
    "FakeStytch",
    "FaultKind",
    "Faults",
    "MemberSession",
    "RateLimit",
    "RateLimitMode",
    "RequestLogEntry",
    "RetryAfterMode",
    "Settings",
    "Stats",
    "StytchEmulator",
    "main",
]

# Imported lazily so that the pytest plugin (loaded in every pytest run of a
# project that installs this package) costs nothing until a fixture is used.
_LOCATIONS = {
    "main": "_cli",
    "FakeStytch": "_fake",
    "FAULT_KINDS": "_faults",
    "ROUTES": "_faults",
    "FaultKind": "_faults",
    "Faults": "_faults",
    "RetryAfterMode": "_faults",
    "DEFAULT_SEARCH_RATE_LIMIT": "_faults",
    "RateLimit": "_ratelimit",
    "RateLimitMode": "_ratelimit",
    "IDENTITY_PROVIDERS": "_settings",
    "Settings": "_settings",
    "StytchEmulator": "_server",
    "Connection": "_state",
    "EmulatorState": "_state",
    "MemberSession": "_state",
    "RequestLogEntry": "_stats",
    "Stats": "_stats",
    "FakeResponse": "_wire",
}


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
