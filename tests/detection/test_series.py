"""A sampled series through the real pipeline (issue 20): a probe that reports
one latency a cycle is judged by the series detector, stored between cycles as
JSON on its baseline; a step up opens one incident that says what the range
was; a busy endpoint beside it keeps no series state and opens nothing."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from aiops.detection.core.detectors import series
from aiops.detection.models import EndpointBaseline, Incident
from aiops.telemetry.records import SpanRecord
from tests.detection.traffic import T0, run_cycles, store

CYCLES = series.WARM_UP + 40
STEP_AT = series.WARM_UP + 20  # the cycle from which the probe is slow


def _span(endpoint: str, start: float, duration: float) -> SpanRecord:
    return SpanRecord(
        service="cron",
        endpoint=endpoint,
        start_time=datetime.fromtimestamp(start, tz=UTC),
        duration_ms=duration,
        status_code=200,
    )


def _traffic() -> list[SpanRecord]:
    rng = random.Random(4)
    spans = []
    for n in range(CYCLES):
        cycle = T0 + 30 * n
        value = 60.0 if n >= STEP_AT else rng.uniform(14.0, 16.0)
        spans.append(_span("probe", cycle + 5, value))
        spans += [
            _span("api", cycle + 1 + 4 * i, 40.0 * rng.lognormvariate(0, 0.1))
            for i in range(6)
        ]
    return spans


@pytest.mark.django_db
def test_a_step_up_of_a_sampled_series_opens_one_explained_incident():
    store(_traffic())

    run_cycles(T0, T0 + 30 * CYCLES)

    [incident] = Incident.objects.all()
    assert incident.root_endpoint == "probe"
    # The first cycle that sees the slow value (its span started 5 s in).
    assert incident.first_detected.timestamp() == T0 + 30 * (STEP_AT + 1)
    [anomaly] = incident.anomalies.all()
    assert anomaly.type == "latency_series"
    assert anomaly.summary.startswith("Latency series left its range: 60.0ms, ")
    assert "seen so far 14." in anomaly.summary
    assert anomaly.detail["test"] == "range"

    probe = EndpointBaseline.objects.get(endpoint="probe")
    assert probe.busy_cycles == 0
    assert probe.series["steps"] == CYCLES
    assert series.regular(probe.series)
    api = EndpointBaseline.objects.get(endpoint="api")
    assert api.busy_cycles > 0
    assert api.series == {}
