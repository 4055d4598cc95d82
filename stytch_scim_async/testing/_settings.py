"""What the emulator assumes about Stytch, and the project settings it models.

Every EMULATOR ASSUMPTION is a `Settings` field, so that a test that depends on
one says so, and one that must not can turn it off. The defaults are the
emulator's long-standing behaviour; the member-mode gates are off by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["IDENTITY_PROVIDERS", "Settings"]

IDENTITY_PROVIDERS: Final[frozenset[str]] = frozenset(
    {
        "generic",
        "okta",
        "microsoft-entra",
        "cyberark",
        "jumpcloud",
        "onelogin",
        "pingfederate",
        "rippling",
        "classlink",
        "duo",
        "google-workspace",
        "keycloak",
        "miniorange",
        "salesforce",
        "shibboleth",
    }
)
"""The identity providers Stytch's SDKs and docs name (the default allow-list).
EMULATOR ASSUMPTION: Stytch's real list is not published as a closed set; it may
accept more (``identity_providers=None`` accepts any string)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """The emulator's assumptions about Stytch and the project's settings.

    EMULATOR ASSUMPTIONS (nothing official says otherwise, nor confirms them):

    ``default_identity_provider``
        what a create that omits ``identity_provider`` gets (``"generic"``).
    ``identity_providers``
        the allow-list; any other value is 400 ``invalid_scim_idp``. ``None``
        accepts every string.
    ``resolve_slugs``
        a backend path's organization segment that is a registered
        ``organization_slug`` names that organization, as Stytch documents.
        Organizations that appear on first use are slugged by their id; with
        ``False`` every segment is an organization id.
    ``get_returns_deleted``
        off by default. When on, a GET for an organization without an active
        connection answers its most recently deleted one (``status: "deleted"``):
        nothing says a real GET never does, so a client must cope with it.

    Project settings for the frontend-SDK routes (``/sdk/v1/...``), off by default:

    ``sdk_allowed_origins``
        when set, a request whose ``Origin`` header is not one of these exact
        values answers 400 ``bad_domain_for_stytch_sdk``.
    ``http_only_cookies``
        when on (Stytch's "enforce HttpOnly cookies"), a request whose ``Host``
        header is not one of ``custom_domains`` answers 401
        ``cname_required_for_http_only_cookies``.

    EMULATOR ASSUMPTION: the origin check runs first, then the custom-domain
    check, then authentication; app bundles (``bad_app_bundle_for_stytch_sdk``)
    are not modelled.
    """

    default_identity_provider: str = "generic"
    """What a create that omits `identity_provider` gets."""
    identity_providers: frozenset[str] | None = IDENTITY_PROVIDERS
    """The IdPs a create or update may name (others: 400 `invalid_scim_idp`); None: any string."""
    resolve_slugs: bool = True
    """Whether a backend path's organization segment may be a registered slug."""
    get_returns_deleted: bool = False
    """Whether a GET without an active connection answers the most recently deleted one."""
    sdk_allowed_origins: frozenset[str] | None = None
    """The `Origin` values the frontend-SDK routes accept; None: any."""
    http_only_cookies: bool = False
    """Whether the frontend-SDK routes demand one of `custom_domains` as `Host`."""
    custom_domains: frozenset[str] = frozenset()
    """The project's custom domains, for `http_only_cookies`."""

    def __post_init__(self) -> None:
        if not self.default_identity_provider:
            raise ValueError("default_identity_provider must not be empty")
        if (
            self.identity_providers is not None
            and self.default_identity_provider not in self.identity_providers
        ):
            raise ValueError("default_identity_provider must be one of identity_providers")
        for name in ("identity_providers", "sdk_allowed_origins", "custom_domains"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, frozenset) or not all(isinstance(v, str) for v in value)
            ):
                raise ValueError(f"{name} must be a frozenset of strings")

    def accepts_identity_provider(self, identity_provider: str) -> bool:
        """Whether a create or update may name ``identity_provider``."""
        return self.identity_providers is None or identity_provider in self.identity_providers
