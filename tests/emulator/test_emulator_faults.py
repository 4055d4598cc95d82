"""Every fault does what it says, before or after the commit, reproducibly from a seed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stytch_scim_async.testing import FAULT_KINDS, ROUTES, FakeStytch, Faults
from tests.support.emulator_api import (
    ORG,
    OTHER_ORG,
    Clock,
    api_with,
    backend_path,
    error_of,
)

SEED_500_MESSAGE = (
    "Oops, something seems to have gone wrong, please reach out to support@stytch.com "
    "to let us know what went wrong."
)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"latency": -1.0}, "latency"),
        ({"jitter": -0.1}, "latency"),
        ({"stall_seconds": -1.0}, "latency"),
        ({"rate_limit": 0.0}, "rate_limit"),
        ({"burst": 0}, "burst"),
        ({"retry_after": "minutes"}, "retry_after"),
        ({"p_html_502": 1.5}, "p_html_502"),
        ({"p_500_after_commit": -0.5}, "p_500_after_commit"),
        ({"p_html_502": 0.6, "p_drop_after_commit": 0.6}, "add up"),
        ({"routes": frozenset({"create", "explode"})}, "explode"),
    ],
)
def test_faults_validate(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Faults(**kwargs)


def test_faults_helpers() -> None:
    assert Faults(rate_limit=2.5, rate_limit_mode="token-bucket").effective_burst == 3
    assert Faults(rate_limit=0.2, rate_limit_mode="token-bucket").effective_burst == 1
    assert Faults(rate_limit=10, burst=4, rate_limit_mode="token-bucket").effective_burst == 4
    chaos = Faults.chaos(0.05)
    assert chaos.total_probability == pytest.approx(0.35)
    assert chaos.stall_seconds == 5.0
    assert Faults(routes=frozenset({"get"})).covers("get")
    assert not Faults(routes=frozenset({"get"})).covers("create")
    assert Faults().covers("create")
    assert set(FAULT_KINDS) >= {"rate_limit", "html_502"} and "get_groups" in ROUTES


@pytest.mark.parametrize("fault", ["500_before_commit", "html_502", "drop_before_commit"])
def test_before_commit_faults_change_nothing(fault: str) -> None:
    probability: dict[str, Any] = {f"p_{fault}": 1.0}
    api = api_with(Faults(**probability))
    response = api.create()
    assert api.fake.active_token(ORG) is None
    assert api.fake.stats.creates_committed == 0
    assert api.fake.stats.faults == {fault: 1}
    if fault == "500_before_commit":
        assert error_of(response) == (500, "internal_server_error")
        assert response.json()["error_message"] == SEED_500_MESSAGE
    elif fault == "html_502":
        assert (response.status, response.content_type) == (502, "text/html")
        assert b"502 Bad Gateway" in response.body
    else:
        assert response.action == "drop"
    logged = api.fake.request_log[-1]
    assert (logged.route, logged.status, logged.fault) == ("create", response.status, fault)


def test_500_after_commit_commits_then_fails() -> None:
    api = api_with(Faults(p_500_after_commit=1.0))
    assert error_of(api.create()) == (500, "internal_server_error")
    assert api.fake.active_token(ORG) is not None
    assert api.fake.stats.creates_committed == 1
    # The retry hits the committed connection.
    assert error_of(api.create()) == (500, "internal_server_error")
    assert api.fake.stats.duplicates == 1


def test_truncated_json_commits_and_cuts_the_body() -> None:
    faulty = api_with(Faults(p_truncated_json=1.0))
    clean = api_with(Faults())
    cut, whole = faulty.create(), clean.create()
    assert (cut.status, cut.action, cut.content_type) == (200, "truncate", "application/json")
    assert cut.body == whole.body[: len(whole.body) // 2]
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.body)
    assert faulty.fake.active_token(ORG) == clean.fake.active_token(ORG) is not None


def test_drop_after_commit_commits_and_drops() -> None:
    api = api_with(Faults(p_drop_after_commit=1.0))
    response = api.create()
    assert response.action == "drop"
    assert api.fake.active_token(ORG) is not None
    assert api.fake.stats.requests == {("create", 0): 1}


def test_stall_after_commit_commits_and_waits() -> None:
    api = api_with(Faults(p_stall_after_commit=1.0, stall_seconds=12.5))
    response = api.create()
    assert (response.action, response.stall_seconds, response.status) == ("stall", 12.5, 200)
    assert response.json()["connection"]["bearer_token"] == api.fake.active_token(ORG)


def test_faults_respect_routes() -> None:
    api = api_with(Faults(p_500_before_commit=1.0, latency=0.2, routes=frozenset({"create"})))
    assert api.create().status == 500
    got = api.backend("GET", backend_path(ORG))
    assert (got.status, got.delay) == (200, 0.0)


def test_latency_and_jitter_are_seeded() -> None:
    def delays(seed: int) -> list[float]:
        api = api_with(Faults(latency=0.05, jitter=0.01), seed=seed)
        return [api.create(f"org-{n}").delay for n in range(20)]

    first = delays(1)
    assert all(0.05 <= d <= 0.06 for d in first)
    assert len(set(first)) == 20
    assert first == delays(1)
    assert first != delays(2)
    assert api_with(Faults(latency=0.3)).create().delay == 0.3


def test_rate_limit_token_bucket_with_delta_seconds() -> None:
    clock = Clock()
    api = api_with(
        Faults(rate_limit=2.0, burst=2, rate_limit_mode="token-bucket", retry_after="seconds"),
        clock=clock,
    )
    assert [api.create(f"org-{n}").status for n in range(2)] == [200, 200]
    limited = api.create("org-2")
    assert error_of(limited) == (429, "too_many_requests")
    assert limited.json()["error_message"] == "Too many requests have been made."
    assert limited.headers == {"Retry-After": "1"}
    assert api.fake.active_token("org-2") is None
    # Other routes have their own bucket.
    assert api.backend("GET", backend_path("org-0")).status == 200
    clock.now += 0.5
    assert api.create("org-2").status == 200
    assert api.create("org-3").status == 429
    clock.now += 10
    assert [api.create(f"org-{n}").status for n in range(3, 6)] == [200, 200, 429]
    assert api.fake.stats.faults == {"rate_limit": 3}
    assert api.fake.stats.count("create", 429) == 3


def test_rate_limit_retry_after_counts_up_whole_seconds() -> None:
    api = api_with(
        Faults(rate_limit=0.25, burst=1, rate_limit_mode="token-bucket", retry_after="seconds")
    )
    api.create("org-0")
    assert api.create("org-1").headers == {"Retry-After": "4"}


def test_rate_limit_retry_after_as_http_date() -> None:
    clock = Clock(1_700_000_000.2)
    api = api_with(
        Faults(rate_limit=1.0, burst=1, retry_after="http-date", rate_limit_mode="token-bucket"),
        clock=clock,
    )
    api.create("org-0")
    # A token arrives at ...001.2: the date is rounded up to the next whole second.
    assert api.create("org-1").headers == {"Retry-After": "Tue, 14 Nov 2023 22:13:22 GMT"}


def test_rate_limit_without_retry_after() -> None:
    api = api_with(Faults(rate_limit=1.0, retry_after=None))
    api.create("org-0")
    limited = api.create("org-1")
    assert limited.status == 429 and limited.headers == {}


def test_changing_faults_resets_the_buckets() -> None:
    api = api_with(Faults(rate_limit=1.0))
    api.create("org-0")
    assert api.create("org-1").status == 429
    api.fake.faults = Faults(rate_limit=1.0)
    assert api.create("org-1").status == 200
    api.fake.faults = Faults()
    assert [api.create(f"org-x{n}").status for n in range(5)] == [200] * 5


def test_scripted_rate_limit_for_one_org() -> None:
    api = api_with(Faults())
    api.fake.script(route="create", organization_id=ORG, fault="rate_limit", times=2, retry_after=1)
    assert api.create(OTHER_ORG).status == 200
    assert api.backend("GET", backend_path(ORG)).status == 200
    for _ in range(2):
        limited = api.create(ORG)
        assert (limited.status, limited.headers) == (429, {"Retry-After": "1"})
    assert api.create(ORG).status == 200
    assert api.fake.stats.faults == {"rate_limit": 2}
    assert not api.fake.injector.scripts


def test_scripted_rate_limit_header_forms() -> None:
    api = api_with(Faults(), clock=Clock(1_700_000_000.0))
    api.fake.script(fault="rate_limit", retry_after=2.5, retry_after_format="http-date")
    api.fake.script(fault="rate_limit")
    assert api.create().headers == {"Retry-After": "Tue, 14 Nov 2023 22:13:23 GMT"}
    assert api.create().headers == {}


def test_scripted_faults_win_over_probabilistic_ones() -> None:
    api = api_with(Faults(p_500_before_commit=1.0, stall_seconds=9.0))
    api.fake.script(fault="stall_after_commit")
    api.fake.script(fault="stall_after_commit", stall_seconds=0.5)
    api.fake.script(fault="500_after_commit", route="get")
    first, second = api.create("org-1"), api.create("org-2")
    assert (first.action, first.stall_seconds) == ("stall", 9.0)
    assert (second.action, second.stall_seconds) == ("stall", 0.5)
    assert api.create("org-3").status == 500
    assert api.backend("GET", backend_path("org-1")).status == 500
    assert api.fake.active_token("org-3") is None


@pytest.mark.parametrize(
    "fault", ["500_after_commit", "truncated_json", "drop_after_commit", "html_502"]
)
def test_scripted_faults_match_sdk_requests_by_session_org(fault: Any) -> None:
    api = api_with(Faults())
    api.fake.script(fault=fault, organization_id=ORG)
    session = api.fake.member_session(ORG)
    response = api.sdk("POST", "", {}, session=session)
    assert api.fake.request_log[-1].fault == fault
    assert api.fake.request_log[-1].organization_id == ORG
    assert response.status != 200 or response.action != "respond"
    assert api.sdk("GET", "", session=session).status == 200


def test_scripted_faults_apply_to_failing_requests_too() -> None:
    api = api_with(Faults())
    api.fake.script(fault="truncated_json")
    response = api.backend("POST", backend_path(ORG), {}, authorization=None)
    assert (response.status, response.action) == (401, "truncate")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fault": "explode"}, "unknown fault"),
        ({"fault": "html_502", "route": "create_many"}, "unknown route"),
        ({"fault": "html_502", "times": 0}, "times"),
    ],
)
def test_script_validates(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FakeStytch().script(**kwargs)


def _fault_sequence(seed: int, count: int = 300) -> list[str | None]:
    api = api_with(Faults.chaos(0.1), seed=seed)
    for n in range(count):
        api.create(f"org-{n}")
    return [entry.fault for entry in api.fake.request_log]


def test_probabilistic_faults_are_reproducible_from_the_seed() -> None:
    first = _fault_sequence(11)
    assert first == _fault_sequence(11)
    assert first != _fault_sequence(12)
    kinds = {kind for kind in first if kind is not None}
    assert kinds == set(FAULT_KINDS) - {"rate_limit"}
    assert 0.2 < first.count(None) / len(first) < 0.4  # chaos(0.1): 70% faulted


def test_reset_rewinds_the_fault_generator() -> None:
    api = api_with(Faults.chaos(0.1), seed=5)
    before = [api.create(f"org-{n}").action for n in range(50)]
    api.fake.script(fault="html_502")
    api.fake.reset()
    assert [api.create(f"org-{n}").action for n in range(50)] == before


def test_control_and_unknown_routes_are_never_faulted() -> None:
    api = api_with(
        Faults(p_500_before_commit=1.0, rate_limit=0.001, burst=1, rate_limit_mode="token-bucket")
    )
    api.fake.script(fault="html_502", times=5)
    assert api.fake.handle("GET", "/_stats", {}, {}, b"").status == 200
    assert error_of(api.backend("GET", "/v1/nowhere")) == (404, "route_not_found")
    assert len(api.fake.injector.scripts) == 1
