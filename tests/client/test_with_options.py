"""`with_options`: a view with its own retry policy, attempt timeout, deadline, headers
and hooks, sharing the original's pool, budget, limiters and locks; and `app_info`."""

from __future__ import annotations

import time

import pytest

import stytch_scim_async as scim
from stytch_scim_async.testing import StytchEmulator

from ..support.wire_tap import as_any, tapped

ORG = "organization-test-options"


async def test_a_views_timeout_applies_to_its_calls_only(emulator: StytchEmulator) -> None:
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, timeout=5.0
    ) as client:
        hasty = client.with_options(timeout=0.2, retry=scim.RetryPolicy.disabled())
        assert hasty.timeout == scim.Timeout(total=0.2, connect=0.2)
        assert client.timeout == scim.Timeout(total=5.0, connect=5.0)
        emulator.script(fault="stall_after_commit", route="get", stall_seconds=0.6)
        began = time.monotonic()
        with pytest.raises(scim.RequestTimeoutError) as info:
            await hasty.get_connection(ORG)
        assert time.monotonic() - began < 0.55
        assert "0.2 s" in str(info.value)
        # The original keeps its own 5 s: the same stall is only a slow answer.
        emulator.script(fault="stall_after_commit", route="get", stall_seconds=0.6)
        got = await client.get_connection(ORG)
        assert got.connection is None


async def test_views_share_the_rate_limiters(emulator: StytchEmulator) -> None:
    """A 429 one of them meets closes the endpoint group for both: the original's next
    GET waits for the window, as its Throttled event says."""
    seen: list[scim.hooks.Event] = []
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, hooks=[seen.append]
    ) as client:
        once = client.with_options(retry=scim.RetryPolicy.disabled(), hooks=[])
        assert once.rate_limiters is client.rate_limiters
        assert once.retry_budget is client.retry_budget
        emulator.script(fault="rate_limit", route="get")  # no Retry-After, as Stytch
        with pytest.raises(scim.RateLimitError):
            await once.get_connection(ORG)
        assert client.rate_limiters.group("get").throttles == 1
        assert seen == []  # the view has no hooks
        await client.get_connection(ORG)
    throttled = [e for e in seen if isinstance(e, scim.hooks.Throttled)]
    assert len(throttled) == 1 and throttled[0].group == "read"
    assert 0 < throttled[0].wait <= 1.05


async def test_headers_arrive_and_the_originals_do_not_change(emulator: StytchEmulator) -> None:
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url
    ) as client:
        traced = client.with_options(headers={"X-Trace-Id": "abc-123", "X-Tenant": "t 1"})
        deeper = traced.with_options(headers={"X-Extra": "1"})
        with tapped(emulator) as tap:
            await traced.get_connection(ORG)
            await client.get_connection(ORG)
            await deeper.get_connection(ORG)
    assert tap.header("X-Trace-Id") == ["abc-123", None, "abc-123"]
    assert tap.header("X-Tenant") == ["t 1", None, "t 1"]
    assert tap.header("X-Extra") == [None, None, "1"]
    assert len(set(tap.header("Authorization"))) == 1  # the credentials are unchanged


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"Authorization": "Bearer x"}, "set by the client"),
        ({"content-type": "text/plain"}, "set by the client"),
        ({"Host": "evil.example"}, "set by the client"),
        ({"User-Agent": "me"}, "set by the client"),
        ({"X-Stytch-Member-Session": "s"}, "set by the client"),
        ({"X-Ok": "a\r\nX-Smuggled: 1"}, "no CR, LF"),
        ({"X-Ok": "a\nb"}, "no CR, LF"),
        ({"X-Ok": "a\x00"}, "no CR, LF"),
        ({"X-Ok": ""}, "non-empty"),
        ({"X Bad": "v"}, "token"),
        ({"X-Bad:": "v"}, "token"),
        ({"": "v"}, "token"),
        ({"X-A": "1", "x-a": "2"}, "twice"),
        ({"X-Ok": as_any(1)}, "visible ASCII"),
    ],
)
async def test_bad_headers_are_refused_before_any_request(
    emulator: StytchEmulator, headers: dict[str, str], problem: str
) -> None:
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url
    ) as client:
        with pytest.raises(scim.InvalidRequestError) as info:
            client.with_options(headers=headers)
    assert info.value.argument == "headers" and problem in info.value.problem
    assert "Bearer x" not in str(info.value) and "evil" not in str(info.value)
    assert not emulator.request_log


async def test_deadline_and_retry_per_view(client: scim.SCIMClient) -> None:
    bounded = client.with_options(deadline=2.5)
    assert bounded.retry.deadline == 2.5 and client.retry.deadline is None
    assert bounded.retry.max_attempts == client.retry.max_attempts
    unbounded = bounded.with_options(deadline=None, retry=scim.RetryPolicy(max_attempts=5))
    assert unbounded.retry.deadline is None and unbounded.retry.max_attempts == 5
    assert bounded.with_options().retry.deadline == 2.5  # nothing given: all kept
    with pytest.raises(scim.InvalidRequestError) as info:
        client.with_options(deadline=-1)
    assert info.value.argument == "deadline"
    with pytest.raises(scim.InvalidRequestError):
        client.with_options(retry=as_any("fast"))
    with pytest.raises(scim.InvalidRequestError):
        client.with_options(timeout=as_any("soon"))
    with pytest.raises(scim.InvalidRequestError):
        client.with_options(hooks=as_any(print))  # one callable, not a list of them


async def test_closing_a_view_leaves_the_pool_to_the_original(emulator: StytchEmulator) -> None:
    client = scim.SCIMClient(emulator.project_id, emulator.secret, base_url=emulator.base_url)
    async with client.with_options(timeout=3) as view:
        await view.get_connection(ORG)
    await view.aclose()
    await view.get_connection(ORG)  # still open: the original owns the pool
    await client.get_connection(ORG)
    await client.aclose()
    with pytest.raises(scim.ClientClosedError):
        await view.get_connection(ORG)


async def test_member_client_views(emulator: StytchEmulator, member: scim.MemberSCIMClient) -> None:
    view = member.with_options(headers={"X-Trace-Id": "m-1"}, timeout=2)
    with tapped(emulator) as tap:
        await view.get_connection()
    assert tap.header("X-Trace-Id") == ["m-1"]
    assert view.timeout.total == 2 and member.timeout.total == 5


async def test_app_info_is_appended_to_the_user_agent(emulator: StytchEmulator) -> None:
    app = scim.AppInfo("acme-provisioner", "2.1.0", "https://acme.example/scim")
    async with (
        scim.SCIMClient(
            emulator.project_id, emulator.secret, base_url=emulator.base_url, app_info=app
        ) as c,
        scim.SCIMClient(emulator.project_id, emulator.secret, base_url=emulator.base_url) as plain,
    ):
        with tapped(emulator) as tap:
            await c.get_connection(ORG)
            await c.with_options(timeout=2).get_connection(ORG)
            await plain.get_connection(ORG)
    agent = f"stytch-scim-async/{scim.__version__}"
    full = f"{agent} acme-provisioner/2.1.0 (https://acme.example/scim)"
    assert tap.header("User-Agent") == [full, full, agent]
    assert scim.AppInfo("tool").product() == "tool"
    assert scim.AppInfo("tool", url="https://t.example").product() == "tool (https://t.example)"


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": "two words"},
        {"name": "a\r\nb"},
        {"name": "naïve"},
        {"name": "ok", "version": "1.0\n"},
        {"name": "ok", "version": "1 0"},
        {"name": "ok", "url": "https://x.example/a b"},
        {"name": "ok", "url": "https://x.example/\r\n"},
        {"name": "ok", "url": "(x)"},
        {"name": as_any(3)},
    ],
)
def test_bad_app_info_is_refused(fields: dict[str, str]) -> None:
    with pytest.raises(scim.InvalidRequestError) as info:
        scim.AppInfo(**fields)
    assert info.value.argument.startswith("app_info.")


def test_app_info_must_be_an_app_info() -> None:
    with pytest.raises(scim.InvalidRequestError) as info:
        scim.SCIMClient("project-test-1", "s", app_info=as_any("acme/1.0"))
    assert info.value.argument == "app_info"
