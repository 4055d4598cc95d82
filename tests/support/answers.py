"""A reply a test hands the memory transport in place of the fake's own: the fields
`MockTransport` reads from an answer, with the fake's defaults (no fault, no wait)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["Answer"]


@attrs.frozen
class Answer:
    """A 2xx (or any) reply with the body a test wrote."""

    status: int
    body: bytes
    content_type: str
    headers: Mapping[str, str]
    action: str = ""
    delay: float = 0.0
    stall_seconds: float = 0.0
