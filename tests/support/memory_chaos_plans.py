"""The drawn scenarios of the memory chaos properties: what the fake and the client
are like (`World`), a batch (`BatchPlan`), single calls made and awaited at different
moments (`SinglePlan`), and the switches that keep known bugs out of the draw.

Public API only: the drivers in `tests/provision` turn a plan into a run.
"""

from __future__ import annotations

import os

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import stytch_scim_async as scim
from stytch_scim_async.testing import FAULT_KINDS, Faults

EXAMPLES = int(os.environ.get("MEMORY_CHAOS_EXAMPLES", "300"))
#: The per-test timeout the property modules set (pytest-timeout), by size.
TIMEOUT = 60 + EXAMPLES // 10
CHAOS = settings(
    deadline=None,
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("MEMORY_CHAOS_SEED") is None,
    database=None,
)

#: What an organization is before the batch, and how its row asks for it.
KINDS = (
    "fresh",  # no connection; a plain row
    "proven",  # no connection; the caller proved it (proven_absent=True)
    "foreign_same",  # someone else's connection, identical to the row
    "foreign_other",  # someone else's connection, other names
    "resumed_committed",  # an earlier run's create committed: maybe_sent=True
    "resumed_absent",  # an earlier run's create did not commit: maybe_sent=True
    "resumed_foreign",  # maybe_sent=True, but the connection there is someone else's
)
FOREIGN = frozenset({"foreign_same", "foreign_other", "resumed_foreign"})
EXITS = (
    "full",
    "break",
    "raise_body",
    "progress_raises",
    "source_raises",
    "before_send_raises",
    "no_with_break",
)


class Boom(Exception):
    """What a caller's hook or loop body raises."""


@attrs.frozen
class Row:
    kind: str
    proven: bool
    idp: str


@attrs.frozen
class World:
    """The fake and the client's knobs, shared by both properties."""

    seed: int
    faults: Faults
    scripts: tuple[tuple[str, str, int, int], ...]  # fault, route, row index, times
    timeout: float
    attempts: int
    deadline: float | None
    initial_delay: float
    #: None: no hooks; 0: a hook that records every event; n: and one that raises on
    #: every n-th event (an observer must never break a call nor lose a token).
    hooks: int | None = None


@attrs.frozen
class BatchPlan:
    world: World
    rows: tuple[Row, ...]
    duplicates: tuple[tuple[int, bool, bool], ...]  # row index, maybe_sent, proven_absent
    concurrency: int
    prescan: bool
    verify_absent: bool | None
    recover_token: bool
    source: str  # list, generator, async
    exit: str
    at: int  # the outcome (or source item) at which the exit happens
    cancel_at: float | None  # virtual seconds after the start
    cancel_again: float | None  # and again, that much later (a shutdown insists)
    on_abandoned_raises: int | None  # 0: no on_abandoned; n: its n-th call raises
    before_send_delay: float | None
    pause: float
    #: The batch's windows shrunk (RECENT_IDS, SEARCH_CHUNK, SEARCH_PAGE, and the
    #: organizations OrgLocks remembers) so that a few rows cross them: repeats beyond
    #: the window, searches read ahead, pages, proofs older than what is remembered.
    windows: tuple[tuple[str, int], ...]


PROBABILITIES = (
    "p_500_before_commit",
    "p_500_after_commit",
    "p_html_502",
    "p_truncated_json",
    "p_drop_before_commit",
    "p_drop_after_commit",
    "p_stall_after_commit",
)


@st.composite
def _probabilities(draw: st.DrawFn) -> dict[str, float]:
    """A few kinds of fault at a time (all of them at once rarely lets anything end)."""
    kinds = draw(st.lists(st.sampled_from(PROBABILITIES), max_size=4, unique=True))
    drawn = {name: draw(st.sampled_from([0.02, 0.08, 0.3])) for name in kinds}
    scale = max(1.0, sum(drawn.values()) / 0.9)
    return {name: p / scale for name, p in drawn.items()}


def _faults() -> st.SearchStrategy[Faults]:
    return _probabilities().flatmap(lambda p: _timing_faults(p))


def _timing_faults(probabilities: dict[str, float]) -> st.SearchStrategy[Faults]:
    return st.builds(
        Faults,
        **{name: st.just(p) for name, p in probabilities.items()},
        stall_seconds=st.sampled_from([0.5, 5.0, 60.0]),
        latency=st.sampled_from([0.0, 0.0, 0.001, 0.05]),
        jitter=st.sampled_from([0.0, 0.01, 0.5]),
        rate_limit=st.sampled_from([None, None, 5.0, 50.0]),
        retry_after=st.sampled_from([None, "seconds", "http-date"]),
    )


ROUTES = ("create", "get", "rotate_start", "rotate_complete", "rotate_cancel")
SEARCH = "search_organizations"


@st.composite
def worlds(draw: st.DrawFn, rows: int = 24) -> World:
    scripts = draw(
        st.lists(
            st.tuples(
                st.sampled_from(FAULT_KINDS),
                st.sampled_from([*ROUTES, SEARCH]),
                st.integers(0, rows - 1),
                st.integers(1, 4),
            ),
            max_size=6,
        )
    )
    return World(
        seed=draw(st.integers(0, 2**16)),
        faults=draw(_faults()),
        scripts=tuple(scripts),
        timeout=draw(st.sampled_from([0.2, 1.0, 5.0, 31.0])),
        attempts=draw(st.integers(1, 8)),
        deadline=draw(st.sampled_from([None, None, 3.0, 40.0])),
        initial_delay=draw(st.sampled_from([0.0, 0.05, 0.5, 20.0])),
        hooks=draw(st.sampled_from([None, None, 0, 1, 3])),
    )


@st.composite
def batch_plans(draw: st.DrawFn) -> BatchPlan:
    rows = draw(
        st.lists(
            st.builds(Row, st.sampled_from(KINDS), st.booleans(), st.sampled_from(["okta", ""])),
            min_size=1,
            max_size=24,
        )
    )
    duplicates = draw(
        st.lists(st.tuples(st.integers(0, len(rows) - 1), st.booleans(), st.booleans()), max_size=4)
    )
    exit = draw(st.sampled_from(EXITS))
    cancel_at = draw(st.sampled_from([None, None, None, 0.0, 0.01, 0.3, 2.0, 30.0]))
    return BatchPlan(
        world=draw(worlds(len(rows))),
        rows=tuple(rows),
        duplicates=tuple(duplicates),
        concurrency=draw(st.sampled_from([1, 2, 3, 8, 64])),
        prescan=draw(st.booleans()),
        verify_absent=draw(st.sampled_from([None, None, True, False])),
        recover_token=draw(st.sampled_from([True, True, True, False])),
        source=draw(st.sampled_from(["list", "generator", "async"])),
        exit=exit,
        at=draw(st.integers(0, len(rows))),
        cancel_at=cancel_at,
        cancel_again=draw(st.sampled_from([None, None, 0.0, 0.01, 1.0]))
        if cancel_at is not None
        else None,
        on_abandoned_raises=draw(st.sampled_from([None, None, 0, 1, 2])),
        before_send_delay=draw(st.sampled_from([None, None, 0.0, 0.2])),
        pause=draw(st.sampled_from([0.0, 0.0, 0.01, 1.0])),
        windows=tuple(
            (name, draw(st.sampled_from(sizes)))
            for name, sizes in (
                ("RECENT_IDS", (1, 2, 5)),
                ("SEARCH_CHUNK", (1, 3)),
                ("SEARCH_PAGE", (1, 2)),
                ("REMEMBERED_ORGANIZATIONS", (1, 3)),
            )
            if draw(st.booleans())
        ),
    )


def org_name(i: int) -> str:
    return f"organization-test-chaos-{i:03d}"


def request_for(i: int, row: Row, maybe_sent: bool, proven: bool) -> scim.ProvisionRequest:
    return scim.ProvisionRequest(
        org_name(i), f"Org {i}", row.idp or None, maybe_sent=maybe_sent, proven_absent=proven
    )


def row_request(i: int, row: Row) -> scim.ProvisionRequest:
    resumed = row.kind.startswith("resumed")
    proven = row.kind == "proven" or (resumed and row.proven)
    return request_for(i, row, resumed, proven)


# -- single calls, made and awaited at different moments ------------------------------

OPS = ("create", "create", "create", "rotate_start", "rotate_complete", "rotate_cancel")


@attrs.frozen
class Op:
    kind: str
    org: int
    made_at: int  # the step at which the call is made (its coroutine created)
    delay: int  # steps later, it is awaited (in a task of its own)
    recover_token: bool
    proven: bool  # claim proven_absent (only where the organization has none then)
    maybe_sent: bool
    verify_absent: bool | None
    cancel_after: float | None


@attrs.frozen
class SinglePlan:
    world: World
    orgs: tuple[str, ...]  # fresh, held (the caller's own, token in hand), foreign_*
    ops: tuple[Op, ...]
    gap: float  # virtual seconds between steps


@st.composite
def single_plans(draw: st.DrawFn) -> SinglePlan:
    orgs = draw(
        st.lists(
            st.sampled_from(["fresh", "fresh", "held", "foreign_same", "foreign_other"]),
            min_size=1,
            max_size=3,
        )
    )
    ops = draw(
        st.lists(
            st.sampled_from(OPS).flatmap(lambda kind: _ops(kind, len(orgs))),
            min_size=1,
            max_size=10,
        )
    )
    return SinglePlan(
        draw(worlds(len(orgs))), tuple(orgs), tuple(ops), draw(st.sampled_from([0.0, 0.01, 1.0]))
    )


def _ops(kind: str, orgs: int) -> st.SearchStrategy[Op]:
    """Creates come early, rotations later (they need a connection the caller holds)."""
    return st.builds(
        Op,
        st.just(kind),
        st.integers(0, orgs - 1),
        st.integers(0, 5) if kind == "create" else st.integers(3, 10),
        st.integers(0, 2),
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.sampled_from([None, True, False]),
        st.sampled_from([*[None] * 8, 0.0, 0.01, 0.5, 5.0]),
    )
