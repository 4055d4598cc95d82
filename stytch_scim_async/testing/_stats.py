"""Counters and a request log, so tests can assert on what the client really did."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["RequestLogEntry", "Stats"]


class RequestLogEntry(NamedTuple):
    """One API request as the fake saw it. ``status`` is 0 when no answer was sent."""

    method: str
    """The HTTP method."""
    route: str
    """The route's name (`create`, `get`, ...; `unknown` when none matched)."""
    organization_id: str | None
    """The organization in the path, or the session's in member mode; None when neither."""
    status: int
    """The status answered; 0 when no answer was sent."""
    fault: str | None
    """The fault injected, if any (`rate_limit`, `500_after_commit`, ...)."""


@dataclass(slots=True)
class Stats:
    """What happened so far: per-route statuses, commits, duplicates, faults."""

    requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    """Requests by ``(route, status)``; unknown routes count as ``"unknown"``,
    dropped connections as status 0."""
    creates_committed: int = 0
    """Creates that committed a connection (even if the answer was then lost)."""
    duplicates: int = 0
    """Creates answered ``active_scim_connection_exists``."""
    deletes_committed: int = 0
    """Deletes that committed."""
    rotations_started: int = 0
    """Rotation starts that committed (each issues a new next token)."""
    rotations_completed: int = 0
    """Rotation completions that committed (the next token became active)."""
    rotations_cancelled: int = 0
    """Rotation cancellations that committed."""
    faults: Counter[str] = field(default_factory=Counter)
    """Injected faults by kind (rate-limit 429s count as ``rate_limit``)."""

    @property
    def total_requests(self) -> int:
        """All API requests seen, whatever their outcome."""
        return sum(self.requests.values())

    def count(self, route: str, status: int | None = None) -> int:
        """Requests on ``route``, optionally only those answered with ``status``."""
        if status is not None:
            return self.requests[(route, status)]
        return sum(n for (name, _), n in self.requests.items() if name == route)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy: ``requests`` nested as ``{route: {status: count}}``."""
        requests: dict[str, dict[str, int]] = {}
        for (route, status), n in sorted(self.requests.items()):
            requests.setdefault(route, {})[str(status)] = n
        return {
            "requests": requests,
            "total_requests": self.total_requests,
            "creates_committed": self.creates_committed,
            "duplicates": self.duplicates,
            "deletes_committed": self.deletes_committed,
            "rotations_started": self.rotations_started,
            "rotations_completed": self.rotations_completed,
            "rotations_cancelled": self.rotations_cancelled,
            "faults": dict(sorted(self.faults.items())),
        }


def new_request_log(size: int) -> deque[RequestLogEntry]:
    """A bounded log: the most recent ``size`` requests."""
    return deque(maxlen=size)
