"""Which proxy (if any) a client's requests go through, decided once, at construction.

An explicit `proxy=` wins; `trust_env=True` reads `HTTPS_PROXY`/`HTTP_PROXY` (and
their lower-case forms) and `NO_PROXY` then, as curl and requests do. The rule that
keeps credentials safe: a plain-http target (only loopback hosts are allowed one)
reached through a proxy that is not on loopback would hand the project secret or the
session token to that proxy in plain text, so it is refused before any request. An
https target goes through the proxy inside a CONNECT tunnel: the proxy sees the
host and port, never a header.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

import attrs

from .. import errors
from .._sansio.wire import Secret, is_loopback

__all__ = ["ProxyRoute", "resolve_proxy", "route_for"]


@attrs.frozen
class ProxyRoute:
    """The proxy every request goes through; its credentials are kept out of the repr."""

    url: str
    user: str | None = None
    password: Secret | None = attrs.field(default=None, repr=False)


def _check_auth(proxy_auth: object) -> tuple[str, Secret] | None:
    if proxy_auth is None:
        return None
    if (
        not isinstance(proxy_auth, tuple)
        or len(proxy_auth) != 2
        or not all(isinstance(part, str) for part in proxy_auth)
    ):
        raise errors.InvalidRequestError("proxy_auth", "must be a (user, password) tuple of str")
    user, password = proxy_auth
    if ":" in user or any(c in part for part in proxy_auth for c in "\r\n\0"):
        raise errors.InvalidRequestError(
            "proxy_auth", "the user must not contain ':', neither part a line break"
        )
    return user, Secret(password)


def _route(url: str, auth: tuple[str, Secret] | None, argument: str) -> ProxyRoute:
    if "://" not in url:  # HTTPS_PROXY=proxy:3128, as curl reads it
        url = "http://" + url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        # Never the ValueError's text: it quotes the URL's parts, a password among them
        # (`http://user:secret` reads `secret` as the port).
        raise errors.InvalidRequestError(argument, "not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise errors.InvalidRequestError(argument, "must be an http:// or https:// URL with a host")
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise errors.InvalidRequestError(argument, "must not carry a path, query or fragment")
    if parts.username is not None:
        if auth is not None:
            raise errors.InvalidRequestError(argument, "has credentials and proxy_auth is given")
        auth = (unquote(parts.username), Secret(unquote(parts.password or "")))
    netloc = f"[{host}]" if ":" in host else host
    bare = f"{parts.scheme}://{netloc}" + (f":{port}" if port is not None else "")
    if auth is None:
        return ProxyRoute(bare)
    return ProxyRoute(bare, auth[0], auth[1])


def _from_env(base_url: str, environ: Mapping[str, str]) -> str | None:
    target = urlsplit(base_url)
    proxies = {
        key[:-6].lower(): value
        for key, value in environ.items()
        if key.lower().endswith("_proxy") and value
    }
    if environ.get("REQUEST_METHOD"):  # CGI: HTTP_PROXY is a request header (httpoxy)
        proxies.pop("http", None)
    url = proxies.get(target.scheme)
    if url is None:
        return None
    if "no" in proxies:
        import urllib.request  # only here: it costs every process ~7 ms to import

        hostport = target.netloc.rpartition("@")[2]
        bypass = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009 - untyped
        if bypass(hostport, {"no": proxies["no"]}):
            return None
    return url


def route_for(
    base_url: str, proxy: object, proxy_auth: object, trust_env: object, session: object
) -> ProxyRoute | None:
    """The client's proxy (`resolve_proxy`); a caller's aiohttp `session` may route
    through a proxy of its own (its `proxy=` default, or the environment's under
    `trust_env`), and the same rule applies to it."""
    route = resolve_proxy(base_url, proxy, proxy_auth, trust_env)
    if session is not None:
        default = getattr(session, "_default_proxy", None)
        if default is not None:
            resolve_proxy(base_url, str(default), None, False)
        if getattr(session, "trust_env", False):
            resolve_proxy(base_url, None, None, True)
    return route


def resolve_proxy(
    base_url: str,
    proxy: object,
    proxy_auth: object,
    trust_env: object,
    environ: Mapping[str, str] | None = None,
) -> ProxyRoute | None:
    """The proxy for `base_url` (validated), or None for a direct connection.

    Raises `InvalidRequestError` for a malformed proxy, and for a plain-http target
    through a proxy that is not on loopback (the credentials would cross in clear)."""
    if not isinstance(trust_env, bool):
        raise errors.InvalidRequestError("trust_env", "must be a bool")
    auth = _check_auth(proxy_auth)
    if proxy is not None:
        if not isinstance(proxy, str) or not proxy:
            raise errors.InvalidRequestError("proxy", "must be a non-empty URL string")
        route = _route(proxy, auth, "proxy")
    elif not trust_env:
        if auth is not None:
            raise errors.InvalidRequestError("proxy_auth", "is given without a proxy")
        return None
    else:
        found = _from_env(base_url, os.environ if environ is None else environ)
        if found is None:
            return None
        route = _route(found, auth, "proxy (from the environment)")
    if urlsplit(base_url).scheme == "http" and not is_loopback(urlsplit(route.url).hostname or ""):
        raise errors.InvalidRequestError(
            "proxy",
            "a plain-http base_url through a proxy that is not on loopback would send the "
            "credentials to the proxy in clear text: use an https base_url (tunnelled "
            "with CONNECT) or a loopback proxy",
        )
    return route
