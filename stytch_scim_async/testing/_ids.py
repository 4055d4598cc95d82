"""Deterministic identifiers, secrets and timestamps for the fake Stytch.

Every value is drawn from one seeded `random.Random`, so an emulator built
with the same seed and driven by the same sequence of requests hands out the same
ids and tokens: a failing test can be replayed exactly.
"""

from __future__ import annotations

import base64
import json
import math
import random
import string
import time
from typing import Final

__all__ = ["IdFactory", "rfc3339"]

_ALPHANUMERIC = string.ascii_letters + string.digits
# Random bytes become letters and digits through one table lookup each (in C): the
# 248 lowest values map evenly onto the 62 characters, the other 8 are deleted, so
# every character stays equally likely.
_EVEN: Final = 256 - 256 % len(_ALPHANUMERIC)
_TO_ALPHANUMERIC: Final = bytes(ord(_ALPHANUMERIC[b % len(_ALPHANUMERIC)]) for b in range(256))
_UNEVEN: Final = bytes(range(_EVEN, 256))
# The bits `uuid.UUID(int=..., version=4)` clears and sets (variant RFC 4122, version 4).
_UUID4_KEEP: Final = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID4_SET: Final = (0x8000 << 48) | (4 << 76)

_RECENT_SECONDS: dict[int, str] = {}


def rfc3339(seconds: float) -> str:
    """Format epoch seconds as Stytch does: RFC 3339, UTC, whole seconds, ``Z``."""
    # Creates in the same second stamp the same two seconds (now, expiry): the
    # recent ones are remembered rather than formatted again.
    whole = math.floor(seconds)
    text = _RECENT_SECONDS.get(whole)
    if text is None:
        text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
        if len(_RECENT_SECONDS) >= 64:
            _RECENT_SECONDS.clear()
        _RECENT_SECONDS[whole] = text
    return text


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class IdFactory:
    """Draws Stytch-shaped ids and secrets from a seeded generator."""

    __slots__ = ("_rng",)

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def uuid(self) -> str:
        """A version-4 UUID string, reproducible from the seed.

        The same string as ``str(uuid.UUID(int=getrandbits(128), version=4))``,
        formatted directly."""
        value = "%032x" % (self._rng.getrandbits(128) & _UUID4_KEEP | _UUID4_SET)
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"

    def alphanumeric(self, length: int) -> str:
        """Letters and digits, like Stytch's bearer and session tokens, each equally
        likely: drawn as random bytes and mapped in one pass, not one draw each."""
        text = b""
        while len(text) < length:
            text += self._rng.randbytes(length + 8).translate(_TO_ALPHANUMERIC, _UNEVEN)
        return text[:length].decode("ascii")

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
