"""Bad input is an InvalidRequestError naming the argument, raised before any I/O."""

from __future__ import annotations

import ast
import pathlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

import stytch_scim_async as scim

# Nothing listens on port 9 of loopback: if a check let a call through, it would fail
# with ConnectError instead of InvalidRequestError.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
async def client() -> AsyncIterator[scim.SCIMClient]:
    async with scim.SCIMClient("project-test-1", "s", base_url=NOWHERE) as c:
        yield c


Call = Callable[[scim.SCIMClient], Awaitable[Any]]

BAD_CALLS: list[tuple[str, Call, str]] = [
    ("empty org", lambda c: c.get_connection(""), "organization_id"),
    ("blank org", lambda c: c.get_connection("   "), "organization_id"),
    ("int org", lambda c: c.get_connection(5), "organization_id"),  # type: ignore[arg-type]
    ("org with LF", lambda c: c.get_connection("org\nX-Evil: 1"), "organization_id"),
    ("org with CR", lambda c: c.get_connection("org\r"), "organization_id"),
    ("org with NUL", lambda c: c.get_connection("org\x00"), "organization_id"),
    ("huge org", lambda c: c.get_connection("o" * 5000), "organization_id"),
    ("dot org", lambda c: c.get_connection("."), "organization_id"),
    ("dot-dot connection", lambda c: c.delete_connection("org", ".."), "connection_id"),
    ("dot groups", lambda c: c.get_groups("org", "."), "connection_id"),
    ("surrogate org", lambda c: c.get_connection("org\ud800"), "organization_id"),
    ("none org", lambda c: c.get_connection(None), "organization_id"),  # type: ignore[arg-type]
    ("none org create", lambda c: c.create_connection(None), "organization_id"),  # type: ignore[arg-type]
    ("surrogate cursor", lambda c: c.get_groups("org", "cid", cursor="\udc00"), "cursor"),
    (
        "surrogate display_name",
        lambda c: c.create_connection("org", display_name="a\ud800"),
        "display_name",
    ),
    ("empty connection", lambda c: c.delete_connection("org", ""), "connection_id"),
    ("none connection", lambda c: c.rotate_start("org", None), "connection_id"),  # type: ignore[arg-type]
    ("limit 0", lambda c: c.get_groups("org", "cid", limit=0), "limit"),
    ("limit 1001", lambda c: c.get_groups("org", "cid", limit=1001), "limit"),
    ("limit bool", lambda c: c.get_groups("org", "cid", limit=True), "limit"),
    ("limit str", lambda c: c.get_groups("org", "cid", limit="5"), "limit"),  # type: ignore[arg-type]
    ("cursor int", lambda c: c.get_groups("org", "cid", cursor=5), "cursor"),  # type: ignore[arg-type]
    ("display_name int", lambda c: c.create_connection("org", display_name=5), "display_name"),  # type: ignore[arg-type]
    ("idp int", lambda c: c.create_connection("org", identity_provider=5), "identity_provider"),  # type: ignore[arg-type]
    ("idp empty", lambda c: c.create_connection("org", identity_provider=""), "identity_provider"),
    (
        "idp LF",
        lambda c: c.create_connection("org", identity_provider="okta\n"),
        "identity_provider",
    ),
    (
        "role assignments str",
        lambda c: c.update_connection("org", "cid", role_assignments="g"),  # type: ignore[arg-type]
        "role_assignments",
    ),
    (
        "role assignment dict",
        lambda c: c.update_connection("org", "cid", role_assignments=[{"group_id": "g"}]),  # type: ignore[list-item]
        "role_assignments[0]",
    ),
    (
        "role assignment empty id",
        lambda c: c.update_connection(
            "org", "cid", role_assignments=[scim.RoleAssignment(group_id="", role_id="r")]
        ),
        "role_assignments[0].group_id",
    ),
    (
        "session token LF",
        lambda c: c.get_connection("org", member_session_token="a\r\nb"),
        "member_session_token",
    ),
    (
        "session token non-ASCII",
        lambda c: c.get_connection("org", member_session_token="tök\u2028n"),
        "member_session_token",
    ),
    (
        "session token surrogate",
        lambda c: c.get_connection("org", member_session_token="t\ud800"),
        "member_session_token",
    ),
    (
        "session jwt empty",
        lambda c: c.get_connection("org", member_session_jwt=""),
        "member_session_jwt",
    ),
]


@pytest.mark.parametrize(("label", "call", "argument"), BAD_CALLS, ids=[b[0] for b in BAD_CALLS])
async def test_bad_arguments(
    client: scim.SCIMClient, label: str, call: Call, argument: str
) -> None:
    with pytest.raises(scim.InvalidRequestError) as info:
        await call(client)
    assert info.value.argument == argument
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(argument)


async def test_iter_groups_checks_before_fetching(client: scim.SCIMClient) -> None:
    with pytest.raises(scim.InvalidRequestError):
        async for _ in client.iter_groups("org", ""):
            pass


def test_secret_values_never_appear_in_messages() -> None:
    with pytest.raises(scim.InvalidRequestError) as info:
        scim.SCIMClient("project-test-1", "bad\nsecret")
    assert "bad" not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"project_id": None, "secret": "s"}, "project_id (or STYTCH_PROJECT_ID)"),
        ({"project_id": "p", "secret": None}, "secret (or STYTCH_SECRET)"),
        ({"project_id": "p", "secret": ""}, "secret (or STYTCH_SECRET)"),
        ({"project_id": "p", "secret": "s", "base_url": "http://stytch.example.com"}, "base_url"),
        ({"project_id": "p", "secret": "s", "timeout": -1}, "timeout"),
        ({"project_id": "p", "secret": "s", "timeout": "5"}, "timeout"),
        ({"project_id": "p", "secret": "s", "timeout": float("inf")}, "timeout"),
        ({"project_id": "p", "secret": "s", "retry": 3}, "retry"),
        ({"project_id": "p", "secret": "s", "max_connections": 0}, "max_connections"),
        ({"project_id": "p", "secret": "s", "max_connections": 1.5}, "max_connections"),
        ({"project_id": "p", "secret": "s", "base_url": "https://h:99999"}, "base_url"),
        ({"project_id": "p\ud800", "secret": "s"}, "project_id (or STYTCH_PROJECT_ID)"),
        ({"project_id": "p", "secret": "sé"}, "secret (or STYTCH_SECRET)"),
    ],
)
def test_bad_client_construction(
    kwargs: dict[str, Any], argument: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("STYTCH_PROJECT_ID", "STYTCH_SECRET", "STYTCH_PUBLIC_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(scim.InvalidRequestError) as info:
        scim.SCIMClient(**kwargs)
    assert info.value.argument == argument


def test_member_client_needs_a_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STYTCH_PUBLIC_TOKEN", raising=False)
    with pytest.raises(scim.InvalidRequestError, match="session_token"):
        scim.MemberSCIMClient("public-token-test-1", None)
    with pytest.raises(scim.InvalidRequestError, match="public_token"):
        scim.MemberSCIMClient(None, "t")


def test_timeout_values() -> None:
    assert scim.Timeout.coerce(None) == scim.Timeout(total=31.0, connect=5.0)
    assert scim.Timeout.coerce(2) == scim.Timeout(total=2, connect=2)
    assert scim.Timeout.coerce(60) == scim.Timeout(total=60, connect=5.0)
    custom = scim.Timeout(total=10, connect=1)
    assert scim.Timeout.coerce(custom) is custom
    with pytest.raises(scim.InvalidRequestError):
        scim.Timeout.coerce(True)


async def test_with_retry_shares_the_pool() -> None:
    async with scim.SCIMClient("project-test-1", "s", base_url=NOWHERE) as c:
        view = c.with_retry(scim.RetryPolicy.disabled())
        assert view.retry.max_attempts == 1
        assert c.retry.max_attempts == 3
        assert view.rate_limiter is c.rate_limiter
        assert view.retry_budget is c.retry_budget
        with pytest.raises(scim.ConnectError) as info:
            await view.get_connection("org")
        assert info.value.attempts == 1
        with pytest.raises(scim.InvalidRequestError):
            c.with_retry(None)  # type: ignore[arg-type]


PURE = [
    "errors",
    "models",
    "_sansio/convert",
    "_sansio/endpoints",
    "_sansio/wire",
    "_sansio/replies",
    "_sansio/compiled",
    "_sansio/validate",
    "_sansio/config",
    "_policy/throttle",
]


@pytest.mark.parametrize("module", PURE)
def test_the_pure_core_imports_no_io(module: str) -> None:
    source = (pathlib.Path(scim.__file__).parent / f"{module}.py").read_text()
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"aiohttp", "asyncio", "tenacity", "socket"}


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: scim.SCIMClient(), "pass project_id= or set STYTCH_PROJECT_ID"),
        (lambda: scim.SCIMClient("project-test-1"), "pass secret= or set STYTCH_SECRET"),
        (lambda: scim.MemberSCIMClient(), "pass public_token= or set STYTCH_PUBLIC_TOKEN"),
        (lambda: scim.SCIMClient("project-test-1", "s", timeout=0), "timeout: must be"),
    ],
)
def test_a_missing_credential_or_a_bad_timeout_says_what_to_do(
    make: Callable[[], object], says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("STYTCH_PROJECT_ID", "STYTCH_SECRET", "STYTCH_PUBLIC_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(scim.InvalidRequestError, match=re.escape(says)):
        make()


def test_a_value_that_passed_one_check_is_still_held_to_another() -> None:
    # Values that passed are remembered per check: a display name may hold a line
    # break, an identity provider may not, whichever was checked first.
    from stytch_scim_async._sansio.validate import check_identity_provider, check_optional_text

    for _ in range(2):  # the second round answers from what the first remembered
        assert check_optional_text("display_name", "okta\n", remember=True) == "okta\n"
        with pytest.raises(scim.InvalidRequestError, match="identity_provider"):
            check_identity_provider("okta\n")
        assert check_identity_provider("okta") == "okta"
        assert type(check_identity_provider(scim.IdentityProvider.OKTA)) is str


def test_only_short_display_names_are_remembered_and_never_cursors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from stytch_scim_async._sansio import validate

    monkeypatch.setattr(validate, "_TEXT_PASSED", set())  # not the other tests' names

    long_name = "n" * 10_000
    assert validate.check_optional_text("display_name", long_name, remember=True) == long_name
    assert long_name not in validate._TEXT_PASSED  # it would stay in memory for good
    validate.check_optional_text("cursor", "cursor-test-1")
    assert "cursor-test-1" not in validate._TEXT_PASSED  # cursors never recur
    validate.check_optional_text("display_name", "Okta SCIM", remember=True)
    assert "Okta SCIM" in validate._TEXT_PASSED
