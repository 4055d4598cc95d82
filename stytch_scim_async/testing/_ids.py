"""Deterministic identifiers, secrets and timestamps for the fake Stytch.

Every value is drawn from one seeded `random.Random`, so an emulator built
with the same seed and driven by the same sequence of requests hands out the same
ids and tokens: a failing test can be replayed exactly.
"""

from __future__ import annotations

import base64
import json
import random
import string
import time
import uuid

__all__ = ["IdFactory", "rfc3339"]

_ALPHANUMERIC = string.ascii_letters + string.digits


def rfc3339(seconds: float) -> str:
    """Format epoch seconds as Stytch does: RFC 3339, UTC, whole seconds, ``Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class IdFactory:
    """Draws Stytch-shaped ids and secrets from a seeded generator."""

    __slots__ = ("_rng",)

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def uuid(self) -> str:
        """A version-4 UUID string, reproducible from the seed."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def alphanumeric(self, length: int) -> str:
        """Letters and digits, like Stytch's bearer and session tokens."""
        return "".join(self._rng.choices(_ALPHANUMERIC, k=length))

    def request_id(self) -> str:
        """The ``request_id`` carried by every response."""
        return f"request-id-test-{self.uuid()}"

    def connection_id(self) -> str:
        """A SCIM connection id."""
        return f"scim-connection-test-{self.uuid()}"

    def group_id(self) -> str:
        """A SCIM group id."""
        return f"scim-group-test-{self.uuid()}"

    def member_id(self) -> str:
        """A Member id (only used inside session JWTs)."""
        return f"member-test-{self.uuid()}"

    def bearer_token(self) -> str:
        """A SCIM bearer token: 48 letters and digits, as in Stytch's example."""
        return self.alphanumeric(48)

    def session_token(self) -> str:
        """An opaque Member session token."""
        return self.alphanumeric(44)

    def session_jwt(self, member_id: str, organization_id: str) -> str:
        """A JWT-shaped session string. Nothing verifies its signature."""
        header = _b64url(b'{"alg":"RS256","typ":"JWT"}')
        claims = {"sub": member_id, "https://stytch.com/organization": organization_id}
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64url(self._rng.randbytes(32))
        return f"{header}.{payload}.{signature}"
