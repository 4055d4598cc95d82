"""The public surface, pinned: the exact `__all__` of every public module, that each name
imports and is documented, and the distribution's entry points.

A rename or a moved module that drops a public name fails here first.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import itertools
import types
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import stytch_scim_async

PACKAGE_ROOT = Path(stytch_scim_async.__file__).parent

PUBLIC_ALL: dict[str, list[str]] = {
    "stytch_scim_async": [
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
    ],
    "stytch_scim_async.hooks": [
        "CallEnded",
        "CallStarted",
        "Event",
        "Hook",
        "Reconciled",
        "RequestSent",
        "ResponseReceived",
        "RetryScheduled",
        "Throttled",
        "TokenRecovery",
    ],
    "stytch_scim_async.errors": [
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
    ],
    "stytch_scim_async.models": [
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
    ],
    "stytch_scim_async.cli": ["main"],
    "stytch_scim_async.fastapi": [
        "INTERACTIVE_RETRY",
        "STATE_KEY",
        "SCIMClientDep",
        "error_response",
        "get_scim_client",
        "install_error_handlers",
        "scim_client",
        "scim_lifespan",
    ],
    "stytch_scim_async.testing": [
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
    ],
    "stytch_scim_async.testing.pytest_plugin": ["EmulatorFactory"],
}

PUBLIC_NAMES = [(module, name) for module, names in PUBLIC_ALL.items() for name in names]


def _attribute_docstrings() -> dict[str, set[str]]:
    """Module-level names that have an attribute docstring (a string right after the
    assignment), in any module of the package: where a constant or alias is documented."""
    documented: dict[str, set[str]] = {}
    for path in PACKAGE_ROOT.rglob("*.py"):
        body = ast.parse(path.read_text(encoding="utf-8")).body
        for node, following in itertools.pairwise(body):
            target: ast.expr | None = None
            if isinstance(node, ast.AnnAssign):
                target = node.target
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            if not isinstance(target, ast.Name):
                continue
            if (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
                and following.value.value.strip()
            ):
                documented.setdefault(target.id, set()).add(str(path))
    return documented


ATTRIBUTE_DOCSTRINGS = _attribute_docstrings()


def _own_docstring(value: Any) -> str | None:
    if isinstance(value, type):
        doc = value.__dict__.get("__doc__")
        return doc if isinstance(doc, str) else None
    if isinstance(value, types.ModuleType) or inspect.isroutine(value):
        return inspect.getdoc(value)
    return None


@pytest.mark.parametrize("module_name", sorted(PUBLIC_ALL))
def test_all_is_exactly_the_pinned_list(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert list(module.__all__) == PUBLIC_ALL[module_name]


@pytest.mark.parametrize(("module_name", "name"), PUBLIC_NAMES)
def test_every_public_name_imports_and_is_documented(module_name: str, name: str) -> None:
    module = importlib.import_module(module_name)
    value = getattr(module, name)  # importable: `from module import name` works
    namespace: dict[str, Any] = {}
    exec(f"from {module_name} import {name} as imported", namespace)  # noqa: S102
    assert namespace["imported"] is value
    doc = _own_docstring(value)
    if doc is None:
        # A constant or a type alias: documented by an attribute docstring.
        assert name in ATTRIBUTE_DOCSTRINGS, f"{module_name}.{name} has no docstring"
    else:
        assert doc.strip(), f"{module_name}.{name} has an empty docstring"


def test_the_emulator_lists_exactly_its_public_names() -> None:
    import stytch_scim_async.testing as testing

    assert dir(testing) == sorted(PUBLIC_ALL["stytch_scim_async.testing"])


def _entry_points(group: str) -> dict[str, metadata.EntryPoint]:
    distribution = metadata.distribution("stytch-scim-async")
    return {entry.name: entry for entry in distribution.entry_points if entry.group == group}


def test_the_console_script_entry_point() -> None:
    scripts = _entry_points("console_scripts")
    assert set(scripts) == {"stytch-scim"}
    assert scripts["stytch-scim"].value == "stytch_scim_async.cli:main"
    from stytch_scim_async.cli import main

    assert scripts["stytch-scim"].load() is main


def test_the_pytest_plugin_entry_point() -> None:
    plugins = _entry_points("pytest11")
    assert set(plugins) == {"stytch_scim_async"}
    assert plugins["stytch_scim_async"].value == "stytch_scim_async.testing.pytest_plugin"
    import stytch_scim_async.testing.pytest_plugin as plugin

    assert plugins["stytch_scim_async"].load() is plugin
