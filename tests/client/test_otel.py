"""The OpenTelemetry extra: spans per call and per attempt with the HTTP client
semantic conventions, span events and counters, built on the event hooks; and the
package never imports opentelemetry unless asked."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import stytch_scim_async as scim
from stytch_scim_async.otel import OpenTelemetryHook
from stytch_scim_async.testing import StytchEmulator

ORG = "organization-test-otel"


class Telemetry:
    """An SDK tracer and meter provider recording in memory."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.hook = OpenTelemetryHook(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
        )

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def sums(self) -> dict[str, dict[tuple[tuple[str, Any], ...], float]]:
        found: dict[str, dict[tuple[tuple[str, Any], ...], float]] = {}
        data = self.reader.get_metrics_data()
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        key = tuple(sorted((point.attributes or {}).items()))
                        raw: Any = getattr(point, "value", None)
                        if raw is None:  # a histogram's point: its count
                            raw = getattr(point, "count", 0)
                        found.setdefault(metric.name, {})[key] = float(raw)
        return found


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    found = Telemetry()
    yield found
    found.tracer_provider.shutdown()
    found.meter_provider.shutdown()


def _client(emulator: StytchEmulator, telemetry: Telemetry) -> scim.SCIMClient:
    return scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        hooks=[telemetry.hook],
        retry=scim.RetryPolicy(initial_delay=0.01, max_delay=0.02),
    )


async def test_a_call_is_a_span_with_one_client_span_per_attempt(
    emulator: StytchEmulator, telemetry: Telemetry
) -> None:
    emulator.script(fault="500_before_commit", route="get")
    async with _client(emulator, telemetry) as client:
        got = await client.get_connection(ORG)
    spans = telemetry.finished()
    call = next(s for s in spans if s.name == "SCIM get")
    attempts = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert call.kind is SpanKind.INTERNAL and call.attributes is not None
    assert call.attributes["stytch.organization_id"] == ORG
    assert call.attributes["stytch.request_id"] == got.request_id
    assert [s.name for s in attempts] == ["GET /v1/b2b/scim/{organization_id}/connection"] * 2
    assert all(s.parent is not None and s.parent.span_id == call.context.span_id for s in attempts)
    first, second = (dict(s.attributes or {}) for s in attempts)
    assert first["http.response.status_code"] == 500 and first["error.type"] == "ServerError"
    assert second["http.response.status_code"] == 200 and "error.type" not in second
    assert second["http.request.resend_count"] == 1 and "http.request.resend_count" not in first
    assert second["http.request.method"] == "GET" and second["server.address"] == "127.0.0.1"
    assert second["url.template"] == "/v1/b2b/scim/{organization_id}/connection"
    assert second["stytch.request_id"] == got.request_id
    assert not any("url.full" in (s.attributes or {}) for s in spans)
    assert attempts[0].status.status_code is StatusCode.ERROR
    assert call.status.status_code is not StatusCode.ERROR
    assert [e.name for e in call.events] == ["retry"]
    sums = telemetry.sums()
    assert sum(sums["stytch_scim.requests"].values()) == 2
    assert sum(sums["stytch_scim.retries"].values()) == 1
    assert sum(sums["http.client.request.duration"].values()) == 2


async def test_a_recovered_token_and_a_throttle_are_events_and_counted(
    emulator: StytchEmulator, telemetry: Telemetry
) -> None:
    emulator.script(fault="500_after_commit", route="create")
    async with _client(emulator, telemetry) as client:
        created = await client.create_connection(ORG, display_name="Okta", recover_token=True)
        emulator.script(fault="rate_limit", route="get")
        with pytest.raises(scim.RateLimitError):
            await client.with_retry(scim.RetryPolicy.disabled()).get_connection(ORG)
        await client.get_connection(ORG)
    assert created.recovered
    spans = telemetry.finished()
    create = next(s for s in spans if s.name == "SCIM create")
    events = [e.name for e in create.events]
    assert "reconciled" in events and "token_recovered" in events
    children = [s for s in spans if s.parent and s.parent.span_id == create.context.span_id]
    assert {s.name.split(" ")[0] for s in children} == {"GET", "POST"}
    failed = next(
        s for s in spans if s.name == "SCIM get" and s.status.status_code is StatusCode.ERROR
    )
    assert (failed.attributes or {})["error.type"] == "RateLimitError"
    sums = telemetry.sums()
    assert sums["stytch_scim.recoveries"] == {(("stytch.outcome", "recovered"),): 1}
    assert sum(sums["stytch_scim.throttles"].values()) == 1


async def test_spans_nest_under_the_callers_span(
    emulator: StytchEmulator, telemetry: Telemetry
) -> None:
    tracer = telemetry.tracer_provider.get_tracer("app")
    async with _client(emulator, telemetry) as client:
        with tracer.start_as_current_span("request handler") as outer:
            await client.get_connection(ORG)
            await client.get_connection(ORG)
    calls = [s for s in telemetry.finished() if s.name == "SCIM get"]
    assert len(calls) == 2
    assert all(
        s.parent is not None and s.parent.span_id == outer.get_span_context().span_id for s in calls
    )


def test_importing_the_package_imports_no_opentelemetry() -> None:
    script = (
        "import sys, stytch_scim_async as scim\n"
        "scim.SCIMClient('project-test-1', 's', hooks=[print])\n"
        "import stytch_scim_async.hooks\n"
        "assert not any(m.split('.')[0] == 'opentelemetry' for m in sys.modules), "
        "sorted(m for m in sys.modules if m.startswith('opentelemetry'))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
