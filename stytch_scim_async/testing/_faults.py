"""Fault configuration and the per-request fault decision.

Probabilistic faults come from `Faults` and a seeded generator, so the same
seed and the same request sequence reproduce the same failures. Scripted faults
(`FaultInjector.script`) hit the next N matching requests before any
probabilistic fault is drawn. Rate limits (``_ratelimit``) come between the two.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Final, Literal, get_args

from ._ratelimit import RATE_LIMIT_MODES, RateLimit, RateLimiter, RateLimitMode, TokenBucket
from ._routes import ROUTES, SCIM_ROUTES

__all__ = [
    "AFTER_COMMIT",
    "BEFORE_COMMIT",
    "DEFAULT_SEARCH_RATE_LIMIT",
    "FAULT_KINDS",
    "ROUTES",
    "FaultDecision",
    "FaultInjector",
    "FaultKind",
    "Faults",
    "RateLimit",
    "RateLimitMode",
    "RetryAfterMode",
    "ScriptedFault",
    "TokenBucket",
]

FaultKind = Literal[
    "500_before_commit",
    "500_after_commit",
    "html_502",
    "truncated_json",
    "drop_before_commit",
    "drop_after_commit",
    "stall_after_commit",
    "rate_limit",
]
"""Every fault the emulator can inject, by name."""

FAULT_KINDS: Final[tuple[FaultKind, ...]] = get_args(FaultKind)
"""The fault names, in a fixed order (used to validate input)."""

BEFORE_COMMIT: Final[frozenset[FaultKind]] = frozenset(
    {"500_before_commit", "html_502", "drop_before_commit", "rate_limit"}
)
"""Faults answered without touching state: the request never happened."""

AFTER_COMMIT: Final[frozenset[FaultKind]] = frozenset(
    {"500_after_commit", "truncated_json", "drop_after_commit", "stall_after_commit"}
)
"""Faults applied after the state change: the request happened, its answer is lost."""

RetryAfterMode = Literal["seconds", "http-date"]
"""How a 429 spells ``Retry-After``: delta-seconds or an HTTP-date."""

DEFAULT_SEARCH_RATE_LIMIT: Final = 100
"""Organizations searches per ``search_rate_window`` (60 s) when ``rate_limit`` is set
without ``search_rate_limit``. EMULATOR ASSUMPTION: stytch-python's docstring says
100 requests/minute, newer docs 100/second; the lower figure is used."""

_SEARCH_ROUTE: Final = frozenset({"search_organizations"})

# Probabilistic faults in the order a single uniform draw is mapped onto them.
_PROBABILITY_ORDER: Final[tuple[tuple[str, FaultKind], ...]] = (
    ("p_500_before_commit", "500_before_commit"),
    ("p_html_502", "html_502"),
    ("p_drop_before_commit", "drop_before_commit"),
    ("p_500_after_commit", "500_after_commit"),
    ("p_truncated_json", "truncated_json"),
    ("p_drop_after_commit", "drop_after_commit"),
    ("p_stall_after_commit", "stall_after_commit"),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Faults:
    """What can go wrong, and how often: the emulator's failure model.

    All probabilities are per API request (control routes are never faulted) and
    their sum must not exceed 1. ``routes`` restricts every fault, the latency and
    the rate limit to those route names; ``None`` means all routes.

    ``latency`` (plus up to ``jitter``) delays each answer; the state change itself
    is visible at once, as when a slow network hides a server that already
    committed.

    Rate limits (see ``_ratelimit`` for the assumptions behind them): ``rate_limit``
    gives each of the eight SCIM routes its own limit of ``rate_limit`` requests per
    second. By default (``rate_limit_mode="fixed-window"``, what Stytch describes)
    that is ``floor(rate_limit * rate_limit_window)`` requests in each window of
    ``rate_limit_window`` seconds aligned to the clock; ``burst`` plays no part
    there. ``rate_limit_mode="token-bucket"`` is the smooth alternative, holding up
    to ``burst`` requests. The organizations search has its own limit:
    ``search_rate_limit`` requests per ``search_rate_window`` seconds (default 60),
    and whenever ``rate_limit`` is set without it, the search gets
    `DEFAULT_SEARCH_RATE_LIMIT` per minute. ``rate_limits`` adds any further
    `RateLimit` (per endpoint, or shared by a named group of endpoints). A refused
    request gets a 429 ``too_many_requests`` whose ``Retry-After`` (off by default:
    Stytch documents none) follows ``retry_after``.
    """

    latency: float = 0.0
    """Seconds every answer is delayed (the state change is visible at once)."""
    jitter: float = 0.0
    """Up to this many seconds more, drawn per answer."""
    rate_limit: float | None = None
    """Requests per second each SCIM route allows, each with its own counter; None: no limit."""
    rate_limit_mode: RateLimitMode = "fixed-window"
    """`"fixed-window"` (Stytch's clock-aligned intervals) or `"token-bucket"`."""
    rate_limit_window: float = 1.0
    """The fixed window's length in seconds."""
    burst: int | None = None
    """The token bucket's size (token-bucket mode only)."""
    retry_after: RetryAfterMode | None = None
    """How a 429 spells `Retry-After`: None (no header, as Stytch documents none), `"seconds"` or
    `"http-date"`."""
    search_rate_limit: int | None = None
    """The organizations search's own limit, per `search_rate_window`."""
    search_rate_window: float = 60.0
    """The organizations search's window in seconds."""
    rate_limits: tuple[RateLimit, ...] = ()
    """Further `RateLimit` rules (per endpoint, or shared by a group)."""
    p_500_before_commit: float = 0.0
    """Probability of a 500 before anything is done."""
    p_500_after_commit: float = 0.0
    """Probability of a 500 after the request took effect."""
    p_html_502: float = 0.0
    """Probability of a proxy's HTML 502 page (nothing done)."""
    p_truncated_json: float = 0.0
    """Probability of a 200 whose JSON is cut in half (the request took effect)."""
    p_drop_before_commit: float = 0.0
    """Probability of a connection closed without an answer, nothing done."""
    p_drop_after_commit: float = 0.0
    """Probability of a connection closed without an answer after the request took effect."""
    p_stall_after_commit: float = 0.0
    """Probability of no answer for `stall_seconds` after the request took effect."""
    stall_seconds: float = 60.0
    """How long a stall lasts."""
    routes: frozenset[str] | None = None
    """The route names all of the above applies to; None: every route."""

    def __post_init__(self) -> None:
        if self.latency < 0 or self.jitter < 0 or self.stall_seconds < 0:
            raise ValueError("latency, jitter and stall_seconds must be >= 0")
        if self.rate_limit is not None and not self.rate_limit > 0:
            raise ValueError("rate_limit must be > 0 requests/second (or None)")
        if self.burst is not None and self.burst < 1:
            raise ValueError("burst must be >= 1")
        if self.rate_limit_mode not in RATE_LIMIT_MODES:
            raise ValueError(f"rate_limit_mode must be one of {RATE_LIMIT_MODES}")
        if not self.rate_limit_window > 0 or not self.search_rate_window > 0:
            raise ValueError("rate_limit_window and search_rate_window must be > 0 seconds")
        if self.search_rate_limit is not None and self.search_rate_limit < 1:
            raise ValueError("search_rate_limit must be >= 1 (or None)")
        if not all(isinstance(rule, RateLimit) for rule in self.rate_limits):
            raise ValueError("rate_limits must hold RateLimit values")
        self.limits  # noqa: B018  (validates the rate_limit shorthand)
        if self.retry_after not in (None, "seconds", "http-date"):
            raise ValueError("retry_after must be 'seconds', 'http-date' or None")
        total = 0.0
        for name, _ in _PROBABILITY_ORDER:
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
            total += p
        if total > 1.0 + 1e-9:
            raise ValueError("the fault probabilities must not add up to more than 1")
        if self.routes is not None and not self.routes <= ROUTES:
            unknown = ", ".join(sorted(self.routes - ROUTES))
            raise ValueError(f"unknown route names in routes: {unknown}")

    @classmethod
    def chaos(cls, probability: float = 0.02, *, stall_seconds: float = 5.0) -> Faults:
        """Every probabilistic fault at ``probability``: a quick way to shake a client."""
        return cls(
            p_500_before_commit=probability,
            p_500_after_commit=probability,
            p_html_502=probability,
            p_truncated_json=probability,
            p_drop_before_commit=probability,
            p_drop_after_commit=probability,
            p_stall_after_commit=probability,
            stall_seconds=stall_seconds,
        )

    @property
    def total_probability(self) -> float:
        """The chance that a covered request gets some probabilistic fault."""
        return float(sum(getattr(self, name) for name, _ in _PROBABILITY_ORDER))

    @property
    def effective_burst(self) -> int:
        """The bucket size: ``burst``, or one second's worth of ``rate_limit``."""
        if self.burst is not None:
            return self.burst
        return max(1, math.ceil(self.rate_limit or 1.0))

    def _shorthand_limit(self, rate_limit: float) -> RateLimit:
        if self.rate_limit_mode == "fixed-window":
            per_window = math.floor(rate_limit * self.rate_limit_window + 1e-9)
            if per_window < 1:
                raise ValueError(
                    "rate_limit * rate_limit_window must allow at least one request "
                    "per window; choose a longer rate_limit_window"
                )
            return RateLimit(limit=per_window, window=self.rate_limit_window, routes=SCIM_ROUTES)
        if self.rate_limit_window != 1.0:
            raise ValueError("rate_limit_window applies to fixed windows only")
        rate = Fraction(rate_limit).limit_denominator(1000)  # as limit per window
        if rate.numerator == 0:
            raise ValueError("rate_limit must be at least 0.001 requests/second")
        return RateLimit(
            limit=rate.numerator,
            window=float(rate.denominator),
            routes=SCIM_ROUTES,
            mode="token-bucket",
            burst=self.effective_burst,
        )

    @property
    def limits(self) -> tuple[RateLimit, ...]:
        """Every rate limit in force: the ``rate_limit`` shorthand, the search's own
        limit and ``rate_limits``."""
        rules: list[RateLimit] = []
        if self.rate_limit is not None:
            rules.append(self._shorthand_limit(self.rate_limit))
        if self.search_rate_limit is not None or self.rate_limit is not None:
            rules.append(
                RateLimit(
                    limit=self.search_rate_limit or DEFAULT_SEARCH_RATE_LIMIT,
                    window=self.search_rate_window,
                    routes=_SEARCH_ROUTE,
                    mode=self.rate_limit_mode,
                )
            )
        rules.extend(self.rate_limits)
        return tuple(rules)

    def covers(self, route: str) -> bool:
        """Whether ``route`` is subject to these faults."""
        return self.routes is None or route in self.routes


@dataclass(slots=True)
class ScriptedFault:
    """A fault promised to the next ``remaining`` requests that match it."""

    fault: FaultKind
    route: str | None
    organization_id: str | None
    remaining: int
    retry_after: float | None = None
    retry_after_format: RetryAfterMode = "seconds"
    stall_seconds: float | None = None

    def matches(self, route: str, organization_id: str | None) -> bool:
        """Whether this script applies to a request on ``route`` for that org."""
        if self.route is not None and self.route != route:
            return False
        return self.organization_id is None or self.organization_id == organization_id


@dataclass(slots=True)
class FaultDecision:
    """What the fake does to one API request besides answering it."""

    kind: FaultKind | None = None
    delay: float = 0.0
    retry_after: float | None = None
    retry_after_format: RetryAfterMode | None = None
    stall_seconds: float = 0.0


def _is_quiet(faults: Faults) -> bool:
    return (
        faults.latency == 0.0
        and faults.jitter == 0.0
        and not faults.limits
        and faults.total_probability == 0.0
    )


@dataclass(slots=True)
class _Plan:
    faults: Faults
    scripts: list[ScriptedFault] = field(default_factory=list)
    limiter: RateLimiter | None = None

    def __post_init__(self) -> None:
        limits = self.faults.limits
        self.limiter = RateLimiter(limits) if limits else None


class FaultInjector:
    """Decides, request by request, which fault (if any) the fake injects."""

    __slots__ = ("_plan", "_quiet", "_rng", "_seed")

    def __init__(self, faults: Faults, seed: int) -> None:
        self._seed = seed
        self._rng = random.Random(f"faults:{seed}")
        self._plan = _Plan(faults)
        self._quiet = _is_quiet(faults)

    @property
    def faults(self) -> Faults:
        """The active failure model."""
        return self._plan.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._plan = _Plan(faults, self._plan.scripts)
        self._quiet = _is_quiet(faults)

    @property
    def scripts(self) -> list[ScriptedFault]:
        """Scripted faults still waiting for their requests."""
        return self._plan.scripts

    @property
    def idle(self) -> bool:
        """True when no fault, latency, rate limit or script can apply."""
        return self._quiet and not self._plan.scripts

    def reset(self) -> None:
        """Forget scripts and buckets and rewind the generator to the seed."""
        self._rng = random.Random(f"faults:{self._seed}")
        self._plan = _Plan(self._plan.faults)

    def script(self, scripted: ScriptedFault) -> None:
        """Queue a scripted fault (first queued, first matched)."""
        if scripted.fault not in FAULT_KINDS:
            raise ValueError(f"unknown fault {scripted.fault!r}; expected one of {FAULT_KINDS}")
        if scripted.route is not None and scripted.route not in ROUTES:
            raise ValueError(f"unknown route {scripted.route!r}; expected one of {sorted(ROUTES)}")
        if scripted.remaining < 1:
            raise ValueError("times must be >= 1")
        self._plan.scripts.append(scripted)

    def decide(self, route: str, organization_id: str | None, now: float) -> FaultDecision:
        """The fault decision for one request on ``route`` arriving at ``now``."""
        plan = self._plan
        faults = plan.faults
        decision = FaultDecision()
        covered = faults.covers(route)
        if covered:
            decision.delay = faults.latency
            if faults.jitter > 0.0:
                decision.delay += self._rng.uniform(0.0, faults.jitter)
        for scripted in plan.scripts:
            if scripted.matches(route, organization_id):
                scripted.remaining -= 1
                if scripted.remaining == 0:
                    plan.scripts.remove(scripted)
                decision.kind = scripted.fault
                decision.retry_after = scripted.retry_after
                decision.retry_after_format = scripted.retry_after_format
                stall = scripted.stall_seconds
                decision.stall_seconds = faults.stall_seconds if stall is None else stall
                return decision
        if not covered:
            return decision
        if plan.limiter is not None:
            wait = plan.limiter.take(route, now)
            if wait > 0.0:
                decision.kind = "rate_limit"
                decision.retry_after = wait
                decision.retry_after_format = faults.retry_after
                return decision
        if faults.total_probability > 0.0:
            draw = self._rng.random()
            for name, kind in _PROBABILITY_ORDER:
                draw -= getattr(faults, name)
                if draw < 0.0:
                    decision.kind = kind
                    decision.stall_seconds = faults.stall_seconds
                    break
        return decision
