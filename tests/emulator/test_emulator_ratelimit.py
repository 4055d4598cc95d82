"""Rate limits as Stytch describes them: fixed windows aligned to the clock, per endpoint
or shared by a group, no Retry-After unless asked for; the search has its own limit."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from stytch_scim_async.testing import DEFAULT_SEARCH_RATE_LIMIT, Faults, RateLimit
from stytch_scim_async.testing._cli import build_parser, faults_from_args
from tests.support.emulator_api import Api, Clock, api_with, backend_path, error_of

T0 = 1_700_000_000.0  # a whole second, 20 s into its minute


def window_start(now: float, window: float) -> float:
    return math.floor(now / window) * window


def gets(api: Api, n: int, org: str = "org-0") -> list[int]:
    return [api.backend("GET", backend_path(org)).status for _ in range(n)]


def test_fixed_windows_are_aligned_to_the_clock_not_rolling() -> None:
    clock = Clock(T0 + 0.5)  # mid-second
    api = api_with(Faults(rate_limit=2), clock=clock)
    assert [api.create(f"org-{n}").status for n in range(2)] == [200, 200]
    limited = api.create("org-2")
    assert error_of(limited) == (429, "too_many_requests")
    assert limited.headers == {}  # Stytch documents no Retry-After: none by default
    assert api.fake.active_token("org-2") is None
    clock.now = T0 + 0.999
    assert api.create("org-2").status == 429
    # A rolling window would refuse until T0 + 1.5; Stytch's intervals restart at the
    # boundary, with the full allowance at once.
    clock.now = T0 + 1.0
    assert [api.create(f"org-{n}").status for n in range(2, 5)] == [200, 200, 429]
    assert api.fake.stats.count("create", 429) == 3
    assert api.fake.stats.faults == {"rate_limit": 3}


def test_each_route_has_its_own_window_under_the_shorthand() -> None:
    api = api_with(Faults(rate_limit=1))
    assert api.create("org-0").status == 200
    assert api.create("org-1").status == 429
    assert gets(api, 2) == [200, 429]


def test_a_per_minute_window_with_retry_after_seconds() -> None:
    clock = Clock(T0)
    rule = RateLimit(limit=3, window=60.0, routes=frozenset({"get"}))
    api = api_with(Faults(rate_limits=(rule,), retry_after="seconds"), clock=clock)
    assert gets(api, 3) == [200, 200, 200]
    boundary = window_start(T0, 60) + 60
    limited = api.backend("GET", backend_path("org-0"))
    assert limited.status == 429
    assert limited.headers == {"Retry-After": str(math.ceil(boundary - T0))}
    assert api.create("org-0").status == 200  # not covered by the rule
    clock.now = boundary - 0.001
    assert gets(api, 1) == [429]
    clock.now = boundary
    assert gets(api, 4) == [200, 200, 200, 429]


def test_an_hourly_window_restarts_at_the_top_of_the_hour() -> None:
    before = datetime(2026, 12, 1, 10, 59, 59, tzinfo=UTC).timestamp()
    clock = Clock(before)
    rule = RateLimit(limit=1, window=3600.0, routes=frozenset({"create"}))
    api = api_with(Faults(rate_limits=(rule,), retry_after="http-date"), clock=clock)
    assert api.create("org-0").status == 200
    limited = api.create("org-1")
    assert limited.headers == {"Retry-After": "Tue, 01 Dec 2026 11:00:00 GMT"}
    clock.now = before + 1  # 11:00:00
    assert api.create("org-1").status == 200


def test_a_group_shares_one_counter_between_its_endpoints() -> None:
    writes = RateLimit(limit=2, routes=frozenset({"create", "delete"}), group="writes")
    api = api_with(Faults(rate_limits=(writes,)))
    cid = api.created("org-0")["connection_id"]
    assert api.create("org-1").status == 200
    assert api.backend("DELETE", backend_path("org-0", cid)).status == 429
    assert api.create("org-2").status == 429
    assert gets(api, 5) == [200] * 5  # not in the group


def test_without_a_group_each_covered_route_counts_alone() -> None:
    rule = RateLimit(limit=1, routes=frozenset({"create", "get"}))
    api = api_with(Faults(rate_limits=(rule,)))
    assert api.create("org-0").status == 200
    assert gets(api, 2) == [200, 429]
    assert api.create("org-1").status == 429


def test_every_covering_limit_counts_a_request_even_when_another_refuses_it() -> None:
    per_get = RateLimit(limit=1, routes=frozenset({"get"}))
    project = RateLimit(limit=3, group="project")
    api = api_with(Faults(rate_limits=(per_get, project)))
    assert gets(api, 3) == [200, 429, 429]  # the refused two still count for "project"
    assert api.create("org-1").status == 429


def test_the_search_gets_stytchs_low_limit_whenever_rate_limiting_is_on() -> None:
    clock = Clock(T0)
    api = api_with(Faults(rate_limit=10_000), clock=clock)
    statuses = [api.search({}).status for _ in range(DEFAULT_SEARCH_RATE_LIMIT + 1)]
    assert statuses == [200] * DEFAULT_SEARCH_RATE_LIMIT + [429]
    assert api.create("org-0").status == 200  # the search's count is its own
    clock.now = window_start(T0, 60) + 60
    assert api.search({}).status == 200


def test_the_search_limit_alone_limits_only_the_search() -> None:
    clock = Clock(T0)
    api = api_with(Faults(search_rate_limit=2, search_rate_window=1.0), clock=clock)
    assert [api.search({}).status for _ in range(3)] == [200, 200, 429]
    assert [api.create(f"org-{n}").status for n in range(20)] == [200] * 20
    clock.now += 1
    assert api.search({}).status == 200


def test_scripted_faults_come_before_the_limits() -> None:
    api = api_with(Faults(rate_limit=1))
    api.fake.script(fault="500_before_commit", route="create")
    assert api.create("org-0").status == 500
    assert api.create("org-0").status == 200


def test_the_limits_the_shorthand_expands_to() -> None:
    [scim, search] = Faults(rate_limit=2.5, rate_limit_window=60).limits
    assert (scim.limit, scim.window, scim.mode, scim.group) == (150, 60.0, "fixed-window", None)
    assert scim.routes is not None and "search_organizations" not in scim.routes
    assert len(scim.routes) == 8
    assert (search.limit, search.window) == (DEFAULT_SEARCH_RATE_LIMIT, 60.0)
    assert search.routes == frozenset({"search_organizations"})
    [bucket, _] = Faults(rate_limit=0.25, rate_limit_mode="token-bucket").limits
    assert (bucket.limit, bucket.window, bucket.burst) == (1, 4.0, 1)
    assert Faults().limits == ()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate_limit": 0.5}, "at least one request per window"),
        ({"rate_limit": 2, "rate_limit_mode": "token-bucket", "rate_limit_window": 60}, "fixed"),
        ({"rate_limit_mode": "leaky"}, "rate_limit_mode"),
        ({"rate_limit_window": 0}, "window"),
        ({"search_rate_limit": 0}, "search_rate_limit"),
        ({"rate_limits": ({"limit": 1},)}, "RateLimit"),
    ],
)
def test_faults_validate_rate_limits(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Faults(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1.5}, "limit"),
        ({"limit": 1, "window": 0}, "window"),
        ({"limit": 1, "burst": 2}, "burst"),
        ({"limit": 1, "routes": frozenset({"explode"})}, "explode"),
        ({"limit": 1, "group": ""}, "group"),
        ({"limit": 1, "mode": "leaky"}, "mode"),
    ],
)
def test_rate_limit_validates(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RateLimit(**kwargs)


def test_rate_limit_specs() -> None:
    assert RateLimit.parse("search_organizations:100/60") == RateLimit(
        limit=100, window=60.0, routes=frozenset({"search_organizations"})
    )
    assert RateLimit.parse("writes=create, delete:20/1") == RateLimit(
        limit=20, routes=frozenset({"create", "delete"}), group="writes"
    )
    assert RateLimit.parse("project=*:500/1") == RateLimit(limit=500, group="project")
    for bad in ("create:20", "create/20", "create:x/1", "create:0/1"):
        with pytest.raises(ValueError, match="rate limit"):
            RateLimit.parse(bad)


def test_cli_flags_for_rate_limits() -> None:
    args = build_parser().parse_args(
        [
            "--rate-limit",
            "2",
            "--rate-limit-window",
            "60",
            "--search-rate-limit",
            "5",
            "--search-rate-window",
            "1",
            "--limit",
            "writes=create,delete:20/1",
            "--limit",
            "get:3/60",
            "--retry-after",
            "http-date",
        ]
    )
    assert faults_from_args(args) == Faults(
        rate_limit=2.0,
        rate_limit_window=60.0,
        search_rate_limit=5,
        search_rate_window=1.0,
        rate_limits=(
            RateLimit(limit=20, routes=frozenset({"create", "delete"}), group="writes"),
            RateLimit(limit=3, window=60.0, routes=frozenset({"get"})),
        ),
        retry_after="http-date",
    )
    bucket = build_parser().parse_args(["--rate-limit", "3", "--rate-limit-mode", "token-bucket"])
    assert faults_from_args(bucket).rate_limit_mode == "token-bucket"
    defaults = faults_from_args(build_parser().parse_args([]))
    assert (defaults.rate_limit_mode, defaults.retry_after) == ("fixed-window", None)
