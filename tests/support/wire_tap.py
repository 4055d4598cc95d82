"""A tap on a served emulator: every request's headers and every response's body as
the emulator saw them, recorded by wrapping its fake's `handle` (the emulator itself
is unchanged)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from stytch_scim_async.testing import FakeResponse, StytchEmulator


class WireTap:
    """What crossed the wire: request headers (case-insensitively readable) and
    response bodies, in order."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.bodies: list[bytes] = []

    def header(self, name: str) -> list[str | None]:
        """The value of `name` on every request, None where it was absent."""
        lowered = name.lower()
        return [
            next((v for k, v in sent.items() if k.lower() == lowered), None)
            for sent in self.headers
        ]


@contextmanager
def tapped(emulator: StytchEmulator) -> Iterator[WireTap]:
    """Record what the emulator receives and answers while the block runs."""
    tap = WireTap()
    handle = emulator.fake.handle

    def recording(
        method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> FakeResponse:
        tap.headers.append(dict(headers.items()))
        answer = handle(method, path, query, headers, body)
        tap.bodies.append(answer.body)
        return answer

    emulator.fake.handle = recording  # type: ignore[method-assign]
    try:
        yield tap
    finally:
        del emulator.fake.handle


def as_any(value: object) -> Any:
    """`value`, untyped (for a test that passes a wrong type on purpose)."""
    return value
