"""What the memory chaos tests share: virtual time, a recording handler, and the
ledger that checks the token promise against the fake's ground truth.

Over the memory transport nothing waits on a socket, so an event loop whose clock
jumps to the next timer whenever nothing is ready runs every example in virtual
time: stalls, backoffs, `Retry-After` and the 31 s processing bound cost nothing,
and the order in which tasks run depends only on the seed (deterministic).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import re
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import stytch_scim_async as scim
from stytch_scim_async.testing import FakeResponse, FakeStytch

__all__ = [
    "ACTOR",
    "Ledger",
    "LogSink",
    "RecordingHandler",
    "VirtualClock",
    "VirtualTimeLoop",
    "exception_texts",
    "read_unclaimed",
    "virtual_epoch",
]

#: Epoch seconds the fake's clock starts at (its tokens' stamps, its rate windows).
EPOCH = 1_800_000_000.0

#: Who sends the request the handler sees: set by the driver in each task it runs
#: (a batch's create tasks are told apart by their `Receipt`, see `Ledger.actor_of`).
ACTOR: contextvars.ContextVar[object | None] = contextvars.ContextVar("chaos_actor", default=None)

_TOKEN = re.compile(rb'"(?:next_)?bearer_token"\s*:\s*"([A-Za-z0-9]{16,})"')


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock only moves when nothing is ready: it then jumps to the
    next timer. Only for code that waits on nothing but timers (the memory transport)."""

    def __init__(self) -> None:
        super().__init__()
        self._virtual = 0.0

    def time(self) -> float:
        return self._virtual

    def _run_once(self) -> None:
        ready = getattr(self, "_ready")  # noqa: B009 - private to asyncio's base loop
        scheduled = getattr(self, "_scheduled")  # noqa: B009
        if not ready and not getattr(self, "_stopping"):  # noqa: B009
            live = [timer.when() for timer in scheduled if not timer.cancelled()]
            if live:
                self._virtual = max(self._virtual, min(live))
        super()._run_once()  # type: ignore[misc]


class VirtualClock:
    """`time`-shaped: `monotonic()` and `time()` read the running loop's virtual clock."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def monotonic(self) -> float:
        return self._loop.time()

    def time(self) -> float:
        return EPOCH + self._loop.time()


def virtual_epoch() -> float:
    """The fake's clock: epoch seconds that follow the running loop's virtual time."""
    try:
        return EPOCH + asyncio.get_running_loop().time()
    except RuntimeError:  # seeding, before the loop runs
        return EPOCH


class RecordingHandler:
    """`FakeStytch.handle`, recording who committed each create and who sent each
    rotation, and every token any answer carried."""

    def __init__(self, fake: FakeStytch, actor: Callable[[], object | None]) -> None:
        self.fake = fake
        self._actor = actor
        #: connection id -> the actor whose create committed it.
        self.creator: dict[str, object | None] = {}
        #: (route, organization, connection id, actor) of every rotation sent.
        self.rotations: list[tuple[str, str | None, str | None, object | None]] = []
        self.tokens: set[str] = set()

    def __call__(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> FakeResponse:
        state = self.fake.state
        before = set(state.connections)
        answer = self.fake.handle(method, path, query, headers, body)
        actor = self._actor()
        for connection_id in set(state.connections) - before:
            self.creator[connection_id] = actor
        route = self.fake.request_log[-1].route if self.fake.request_log else ""
        if route.startswith("rotate_"):
            org = self.fake.request_log[-1].organization_id
            parts = path.split("/")  # /v1/b2b/scim/{org}/connection/{id}/rotate/{step}
            cid = parts[6] if len(parts) == 9 else None
            self.rotations.append((route, org, cid, actor))
        self.tokens.update(m.decode() for m in _TOKEN.findall(answer.body))
        return answer


class LogSink(logging.Handler):
    """Every record of the library's logger, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))

    def __enter__(self) -> LogSink:
        logger = logging.getLogger("stytch_scim_async")
        self._level, self._propagate = logger.level, logger.propagate
        logger.addHandler(self)
        logger.setLevel(logging.DEBUG)
        # Kept from pytest's capture, which would hold every example's records at once.
        logger.propagate = False
        return self

    def __exit__(self, *_: object) -> None:
        logger = logging.getLogger("stytch_scim_async")
        logger.removeHandler(self)
        logger.setLevel(self._level)
        logger.propagate = self._propagate


def exception_texts(error: BaseException) -> list[str]:
    """str, repr and the formatted traceback of `error` and of its whole chain."""
    texts: list[str] = []
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and not any(current is s for s in seen):
        seen.append(current)
        texts += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    texts.append("".join(traceback.format_exception(error)))
    return texts


def read_unclaimed(folder: Path) -> list[dict[str, Any]]:
    """Every record of every last-resort file in `folder` (each must be 0600)."""
    records: list[dict[str, Any]] = []
    for path in sorted(folder.iterdir()):
        assert path.stat().st_mode & 0o777 == 0o600, path
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return records


class Ledger:
    """Where the caller can reach each token, and the checks of the promise."""

    def __init__(self, fake: FakeStytch, handler: RecordingHandler) -> None:
        self.fake = fake
        self.handler = handler
        #: organization -> (token, confirmed) for every place a token reached the caller.
        self.places: dict[str, list[tuple[str, bool, str]]] = {}
        #: organizations whose create ended with a report of a possible loss.
        self.reported: set[str] = set()
        #: organizations that got any outcome or answer at all.
        self.answered: set[str] = set()
        self.texts: list[str] = []
        self.violations: list[str] = []
        #: What happened, for the statistics (`hypothesis.event`).
        self.events: set[str] = set()

    def held(self, org: str, token: str | None, confirmed: bool, where: str) -> None:
        """A token reached the caller (confirmed: reported as the live one)."""
        self.answered.add(org)
        if token is None:
            return
        self.places.setdefault(org, []).append((token, confirmed, where))
        if confirmed and self.fake.active_token(org) != token:
            self.violations.append(f"{org}: {where} reports a token as live that is not")

    def outcome(self, outcome: scim.ProvisionOutcome, where: str) -> None:
        """One outcome reached the caller (yielded, in an error, to on_abandoned)."""
        org = outcome.request.organization_id
        self.events.add(f"{where}: {outcome.status.value}")
        self.held(org, outcome.bearer_token, outcome.token_confirmed, where)
        error = outcome.error
        if error is not None:
            self.error(org, error)
        self.texts += [repr(outcome), str(outcome)]

    def error(self, org: str, error: BaseException) -> None:
        """A call (or an outcome) for `org` ended with `error`."""
        self.answered.add(org)
        if isinstance(error, scim.TokenLostError) or getattr(error, "may_have_committed", False):
            self.reported.add(org)
        if isinstance(error, asyncio.CancelledError):
            self.reported.add(org)  # the caller cancelled it: it may have committed
        self.texts += exception_texts(error)

    def unclaimed(self, records: Iterable[Mapping[str, Any]]) -> None:
        """The last-resort file's records."""
        for record in records:
            self.events.add(f"unclaimed file: {record.get('status', 'single')}")
            org = str(record["organization_id"])
            token = record.get("bearer_token") or record.get("next_bearer_token")
            self.held(org, token, bool(record.get("token_confirmed")), "unclaimed file")
            if record.get("status", "failed") in ("failed", "unconfirmed"):
                self.reported.add(org)

    def check_foreign(self, foreign: Mapping[str, str]) -> None:
        """Connections that were there before (organization -> token) are untouched."""
        state = self.fake.state
        for org, token in foreign.items():
            connection = state.active_connection(org)
            if connection is None or connection.bearer_token != token:
                self.violations.append(f"{org}: a connection that was not ours lost its token")
            elif connection.rotating:
                self.violations.append(f"{org}: a connection that was not ours is rotating")
        for route, target, _, _ in self.handler.rotations:
            if target in foreign:
                self.violations.append(f"{target}: {route} sent for a connection not ours")

    def check_ours(
        self,
        ours: Iterable[str],
        may_rotate: Callable[[str, str | None, object | None], bool],
        lost_before: Mapping[str, str] | None = None,
        single: bool = False,
    ) -> None:
        """Every connection of `ours` (organizations the driver made or resumed) has its
        live token in exactly one place (or, rotating, its next token in one), or a
        report of the loss; every rotation a create sent was allowed by `may_rotate`
        (organization, connection id, actor). `lost_before` holds the tokens an earlier
        run lost (a resumed row's): still live and untouched, they need no report."""
        state = self.fake.state
        for org in ours:
            connection = state.active_connection(org)
            if connection is None:
                continue
            earlier = (lost_before or {}).get(org)
            if earlier == connection.bearer_token and not connection.rotating:
                continue
            live = [p for p in self.places.get(org, []) if p[0] == connection.bearer_token]
            pending = [p for p in self.places.get(org, []) if p[0] == connection.next_bearer_token]
            if len(live) > 1 and not single:
                self.violations.append(f"{org}: the live token reached {len(live)} places")
            if not live and not pending and org not in self.reported:
                where = "no outcome at all" if org not in self.answered else "no place"
                self.violations.append(f"{org}: the live token is lost silently ({where})")
        for route, target, cid, actor in self.handler.rotations:
            if route == "rotate_start" and target and not may_rotate(target, cid, actor):
                self.violations.append(f"{target}: {route} of a connection not proven this call's")

    def check_secrets(self, texts: Iterable[str]) -> None:
        """No token (any the fake ever answered) nor the project secret in `texts`."""
        state = self.fake.state
        secrets = set(self.handler.tokens) | {self.fake.secret}
        secrets |= {c.bearer_token for c in state.connections.values()}
        secrets |= {c.next_bearer_token for c in state.connections.values() if c.next_bearer_token}
        blob = "\n".join([*self.texts, *texts])
        leaked = sorted(s for s in secrets if s and s in blob)
        if leaked:
            self.violations.append(f"{len(leaked)} secret(s) appear in a log line or an error")
