"""Rate limits as Stytch describes them, and the token bucket as an option.

What Stytch says: limits are per project and per endpoint, some limits aggregate
several endpoints, and they are counted over fixed intervals aligned to the clock
("intervals are not rolling, but are top of the hour"); a 429 promises no
``Retry-After``. No numbers are published for the SCIM endpoints.

EMULATOR ASSUMPTIONS (each one chosen so as never to flatter a client):

- A window of ``w`` seconds starts at every multiple of ``w`` seconds of Unix time
  (the injected clock): minute windows start at ``:00``, hour windows at the top of
  the hour (UTC). A client that waits for the next boundary is served again.
- Every limit that covers a request counts it, also when another limit (or that
  limit itself) refuses it: a refused request is not free.
- The emulator is one project: every caller shares its limits.
- The token bucket (``mode="token-bucket"``) is not what Stytch does; it is kept
  for tests written against it, and it takes a token only when it grants one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

from ._routes import ROUTES

__all__ = [
    "RATE_LIMIT_MODES",
    "FixedWindow",
    "RateLimit",
    "RateLimitMode",
    "RateLimiter",
    "TokenBucket",
]

RateLimitMode = Literal["fixed-window", "token-bucket"]
"""``fixed-window``: Stytch's clock-aligned intervals. ``token-bucket``: a smooth rate."""

RATE_LIMIT_MODES: Final[tuple[RateLimitMode, ...]] = ("fixed-window", "token-bucket")


@dataclass(frozen=True, kw_only=True, slots=True)
class RateLimit:
    """One limit: ``limit`` requests per ``window`` seconds.

    ``routes`` names the routes it covers (``None``: every route). Without a
    ``group`` each covered route has its own counter (a per-endpoint limit); with
    one, all covered routes share a single counter named ``group`` (a limit that
    aggregates several endpoints). ``burst`` is the bucket size in
    ``token-bucket`` mode (default ``limit``) and not allowed with fixed windows.
    """

    limit: int
    """Requests allowed per `window`."""
    window: float = 1.0
    """The interval in seconds; fixed windows start at multiples of it in Unix time."""
    routes: frozenset[str] | None = None
    """The route names it covers; None: every route."""
    group: str | None = None
    """A name for one counter shared by all covered routes; None: a counter per route."""
    mode: RateLimitMode = "fixed-window"
    """`"fixed-window"` (Stytch's) or `"token-bucket"`."""
    burst: int | None = None
    """The bucket's size in token-bucket mode (default `limit`)."""

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise ValueError("RateLimit.limit must be an integer >= 1")
        if not self.window > 0:
            raise ValueError("RateLimit.window must be > 0 seconds")
        if self.mode not in RATE_LIMIT_MODES:
            raise ValueError(f"RateLimit.mode must be one of {RATE_LIMIT_MODES}")
        if self.burst is not None and (self.mode != "token-bucket" or self.burst < 1):
            raise ValueError("RateLimit.burst must be >= 1 and needs mode='token-bucket'")
        if self.routes is not None and not self.routes <= ROUTES:
            unknown = ", ".join(sorted(self.routes - ROUTES))
            raise ValueError(f"unknown route names in RateLimit.routes: {unknown}")
        if self.group == "":
            raise ValueError("RateLimit.group must not be empty (None: per route)")

    @classmethod
    def parse(cls, spec: str) -> RateLimit:
        """A fixed-window limit from ``[GROUP=]ROUTES:LIMIT/WINDOW`` (the CLI's ``--limit``).

        ``ROUTES`` is comma-separated route names or ``*`` (every route); a
        ``GROUP=`` prefix makes them share one counter. ``WINDOW`` is seconds:
        ``search_organizations:100/60``, ``writes=create,update,delete:20/1``.
        """
        head, colon, amount = spec.rpartition(":")
        limit, slash, window = amount.partition("/")
        if not colon or not slash:
            raise ValueError(f"rate limit {spec!r}: expected [GROUP=]ROUTES:LIMIT/WINDOW")
        group, _, names = head.rpartition("=")
        routes = None
        if names.strip() != "*":
            routes = frozenset(name.strip() for name in names.split(",") if name.strip())
        try:
            return cls(
                limit=int(limit), window=float(window), routes=routes, group=group.strip() or None
            )
        except ValueError as exc:
            raise ValueError(f"rate limit {spec!r}: {exc}") from None

    def covers(self, route: str) -> bool:
        """Whether requests on ``route`` count against this limit."""
        return self.routes is None or route in self.routes


class FixedWindow:
    """A counter that starts again at every multiple of ``window`` seconds."""

    __slots__ = ("count", "limit", "start", "window")

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.start = -math.inf
        self.count = 0

    def take(self, now: float) -> float:
        """Count a request: 0.0 when within the limit, else the seconds until the
        window ends."""
        start = math.floor(now / self.window) * self.window
        if start != self.start:
            self.start = start
            self.count = 0
        self.count += 1
        if self.count <= self.limit:
            return 0.0
        return max(start + self.window - now, 1e-9)


class TokenBucket:
    """A classic token bucket: ``rate`` tokens per second, at most ``burst`` saved."""

    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = now

    def take(self, now: float) -> float:
        """Take a token: 0.0 when granted, else the seconds until one is available."""
        elapsed = now - self.updated
        if elapsed > 0:
            self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
            self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """Applies a set of `RateLimit` rules, one counter per rule and route (or group)."""

    __slots__ = ("_counters", "rules")

    def __init__(self, rules: tuple[RateLimit, ...]) -> None:
        self.rules = rules
        self._counters: dict[tuple[int, str], FixedWindow | TokenBucket] = {}

    def take(self, route: str, now: float) -> float:
        """Count a request on ``route`` at ``now``: 0.0 when every limit admits it,
        else the seconds until the most restrictive refusing limit would."""
        wait = 0.0
        for index, rule in enumerate(self.rules):
            if not rule.covers(route):
                continue
            key = (index, rule.group if rule.group is not None else route)
            counter = self._counters.get(key)
            if counter is None:
                if rule.mode == "fixed-window":
                    counter = FixedWindow(rule.limit, rule.window)
                else:
                    burst = rule.limit if rule.burst is None else rule.burst
                    counter = TokenBucket(rule.limit / rule.window, burst, now)
                self._counters[key] = counter
            wait = max(wait, counter.take(now))
        return wait
