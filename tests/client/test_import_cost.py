"""What importing the package and constructing a first client load, pinned in fresh
interpreters: the models, the endpoint table, the event records and the recovery path
load at the first call (or first use), so a process that only starts a client pays
for none of them. A new eager import fails here, not in a benchmark months later."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PACKAGE = "stytch_scim_async"

#: Loaded at the first call or first use, never by the import or the constructor.
LAZY = (
    f"{PACKAGE}.models",
    f"{PACKAGE}.hooks",
    f"{PACKAGE}._engine.events",
    f"{PACKAGE}._engine.hooks",
    f"{PACKAGE}._engine.recovery",
    f"{PACKAGE}._engine.rotations",
    f"{PACKAGE}._engine.unclaimed",
    f"{PACKAGE}._policy.reconcile",
    f"{PACKAGE}._clients.member",
    f"{PACKAGE}._provision.batch",
    f"{PACKAGE}._sansio.compiled",
    f"{PACKAGE}._transports.proxy",
    "cattrs",
    "orjson",
    "tenacity",
)


def _loaded(code: str) -> dict[str, bool]:
    script = (
        f"import json, sys\n{code}\n"
        f"print(json.dumps({{name: name in sys.modules for name in {LAZY!r}}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: dict[str, bool] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_package_loads_none_of_them() -> None:
    assert _loaded("import stytch_scim_async") == dict.fromkeys(LAZY, False)


def test_constructing_a_first_client_loads_none_of_them() -> None:
    code = "import stytch_scim_async as s\ns.SCIMClient('project-test-x', 'y')"
    assert _loaded(code) == dict.fromkeys(LAZY, False)


@pytest.mark.parametrize(
    ("code", "module"),
    [
        ("s.RoleAssignment", f"{PACKAGE}.models"),
        ("s.models.SCIMConnection", f"{PACKAGE}.models"),
        ("s.hooks.CallEnded", f"{PACKAGE}._engine.events"),
        ("from stytch_scim_async._sansio.endpoints import GET", f"{PACKAGE}.models"),
        ("s.SCIMClient('project-test-x', 'y', hooks=[print])", f"{PACKAGE}._engine.events"),
        ("s.SCIMClient('project-test-x', 'y')._recovery", f"{PACKAGE}._engine.recovery"),
    ],
)
def test_the_first_use_loads_them(code: str, module: str) -> None:
    assert _loaded(f"import stytch_scim_async as s\n{code}")[module]


def test_every_public_name_still_resolves_and_is_listed() -> None:
    import stytch_scim_async

    namespace: dict[str, object] = {}
    exec(f"from {PACKAGE} import *", namespace)  # noqa: S102 - a star import, as a user writes it
    assert set(stytch_scim_async.__all__) <= set(namespace)
    assert dir(stytch_scim_async) == sorted(stytch_scim_async.__all__)
