"""Proxies: an explicit `proxy=`, or `trust_env=True` for HTTPS_PROXY/NO_PROXY; an
https target is tunnelled with CONNECT (the proxy never sees a header of ours), a
plain-http one through a proxy off loopback is refused before any request."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

import stytch_scim_async as scim
from stytch_scim_async.testing import StytchEmulator

from ..support.proxy import Network, network

ORG = "organization-test-proxied"


@pytest.fixture
async def net(emulator: StytchEmulator) -> AsyncIterator[Network]:
    port = urlsplit(emulator.base_url).port
    assert port is not None
    async with network(port) as found:
        yield found


def _client(emulator: StytchEmulator, net: Network, **options: object) -> scim.SCIMClient:
    return scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=net.base_url,
        ssl_context=net.client_context,
        retry=scim.RetryPolicy.disabled(),
        **options,  # type: ignore[arg-type]
    )


def _credentials(emulator: StytchEmulator) -> list[bytes]:
    basic = base64.b64encode(f"{emulator.project_id}:{emulator.secret}".encode())
    return [b"Authorization", basic, emulator.secret.encode()]


async def test_https_through_the_proxy_is_one_connect_and_no_header_in_clear(
    emulator: StytchEmulator, net: Network
) -> None:
    async with _client(emulator, net, proxy=net.proxy_url) as client:
        created = await client.create_connection(ORG, display_name="Okta")
        await client.get_connection(ORG)
        await client.get_connection(ORG)
    assert created.connection.bearer_token == emulator.active_token(ORG)
    assert net.proxy.connects == [f"localhost:{net.front.port}"]
    assert len(net.proxy.tunnelled) > 0
    seen = bytes(net.proxy.tunnelled) + b"".join(net.proxy.heads)
    for secret in [*_credentials(emulator), created.connection.bearer_token.encode()]:
        assert secret not in seen


async def test_proxy_auth_goes_to_the_proxy_only(emulator: StytchEmulator, net: Network) -> None:
    client = _client(emulator, net, proxy=net.proxy_url, proxy_auth=("proxy-user", "proxy-pass"))
    assert "proxy-pass" not in repr(client) and "proxy-pass" not in repr(vars(client))
    async with client:
        await client.get_connection(ORG)
    expected = base64.b64encode(b"proxy-user:proxy-pass")
    assert b"Proxy-Authorization: Basic " + expected in net.proxy.heads[0]
    inside = client.with_options(timeout=2)
    assert "proxy-pass" not in repr(vars(inside))


async def test_credentials_in_the_proxy_url_become_its_auth(
    emulator: StytchEmulator, net: Network
) -> None:
    url = f"http://u%40corp:p%3Ass@127.0.0.1:{net.proxy.port}"
    async with _client(emulator, net, proxy=url) as client:
        await client.get_connection(ORG)
    assert b"Proxy-Authorization: Basic " + base64.b64encode(b"u@corp:p:ss") in net.proxy.heads[0]


async def test_trust_env_is_off_by_default(
    emulator: StytchEmulator, net: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", net.proxy_url)
    async with _client(emulator, net) as client:
        await client.get_connection(ORG)
    assert net.proxy.connects == []


async def test_trust_env_uses_https_proxy(
    emulator: StytchEmulator, net: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("https_proxy", f"127.0.0.1:{net.proxy.port}")  # no scheme, as curl
    async with _client(emulator, net, trust_env=True) as client:
        await client.get_connection(ORG)
    assert net.proxy.connects == [f"localhost:{net.front.port}"]


@pytest.mark.parametrize("no_proxy", ["localhost", "example.com,localhost", "*"])
async def test_no_proxy_bypasses_it(
    emulator: StytchEmulator, net: Network, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", net.proxy_url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    async with _client(emulator, net, trust_env=True) as client:
        await client.get_connection(ORG)
    assert net.proxy.connects == []


@pytest.mark.parametrize("proxy", ["http://proxy.corp.example:3128", "https://10.0.0.8:8443"])
def test_plain_http_through_a_remote_proxy_is_refused(proxy: str) -> None:
    with pytest.raises(scim.InvalidRequestError) as info:
        scim.SCIMClient("project-test-1", "secret-1", base_url="http://127.0.0.1:9", proxy=proxy)
    assert info.value.argument == "proxy" and "clear text" in info.value.problem


def test_plain_http_through_a_remote_env_proxy_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.corp.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(scim.InvalidRequestError) as info:
        scim.SCIMClient("project-test-1", "s", base_url="http://127.0.0.1:9", trust_env=True)
    assert "clear text" in info.value.problem
    # Without trust_env the variable is not read at all; NO_PROXY lifts the refusal.
    scim.SCIMClient("project-test-1", "s", base_url="http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    scim.SCIMClient("project-test-1", "s", base_url="http://127.0.0.1:9", trust_env=True)


def test_plain_http_through_a_loopback_proxy_is_allowed() -> None:
    scim.SCIMClient(
        "project-test-1", "s", base_url="http://127.0.0.1:9", proxy="http://127.0.0.1:3128"
    )


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"proxy": "socks5://127.0.0.1:1080"}, "proxy"),
        ({"proxy": "http://"}, "proxy"),
        ({"proxy": "http://127.0.0.1:99999"}, "proxy"),
        ({"proxy": "http://127.0.0.1:3128/path"}, "proxy"),
        ({"proxy": ""}, "proxy"),
        ({"proxy": "http://u:p@127.0.0.1:1", "proxy_auth": ("a", "b")}, "proxy"),
        ({"proxy_auth": ("a", "b")}, "proxy_auth"),
        ({"proxy": "http://127.0.0.1:1", "proxy_auth": ("a:b", "c")}, "proxy_auth"),
        ({"proxy": "http://127.0.0.1:1", "proxy_auth": ("a", "b\r\n")}, "proxy_auth"),
        ({"proxy": "http://127.0.0.1:1", "proxy_auth": "a:b"}, "proxy_auth"),
        ({"trust_env": "yes"}, "trust_env"),
    ],
)
def test_bad_proxy_options_are_refused(options: dict[str, object], argument: str) -> None:
    with pytest.raises(scim.InvalidRequestError) as info:
        scim.SCIMClient("project-test-1", "s", **options)  # type: ignore[arg-type]
    assert info.value.argument == argument
    assert "b\r\n" not in str(info.value)


async def test_a_callers_session_with_a_remote_proxy_is_held_to_the_same_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A session routing through a proxy of its own (its `proxy=` default, or the
    # environment's under trust_env) would carry the secret there in the clear.
    import aiohttp

    async with aiohttp.ClientSession(proxy="http://192.0.2.2:3128") as session:
        with pytest.raises(scim.InvalidRequestError, match="proxy"):
            scim.SCIMClient(
                "project-test-1", "x" * 12, base_url="http://127.0.0.1:9", session=session
            )
    monkeypatch.setenv("HTTP_PROXY", "http://192.0.2.2:3128")
    async with aiohttp.ClientSession(trust_env=True) as session:
        with pytest.raises(scim.InvalidRequestError, match="proxy"):
            scim.SCIMClient(
                "project-test-1", "x" * 12, base_url="http://127.0.0.1:9", session=session
            )


@pytest.mark.parametrize("proxy", ["http://admin:hunter2SECRET", "admin:hunter2SECRET"])
def test_a_malformed_proxy_url_never_quotes_its_password(proxy: str) -> None:
    with pytest.raises(scim.InvalidRequestError) as info:
        scim.SCIMClient("project-test-1", "x" * 12, proxy=proxy)
    assert "hunter2SECRET" not in str(info.value)
    assert "hunter2SECRET" not in repr(info.value)
