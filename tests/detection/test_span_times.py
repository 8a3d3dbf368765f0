"""The start times a cycle reads are the stored ones, to the microsecond. On
SQLite they were computed with julianday(), which keeps milliseconds and is off
by up to 5e-5 s: a request that started on a quarter hour was read as the end
of the quarter before, and learned in (and judged against) that slot's season:
about one value in nine of a NAB series (one every five minutes, on the
minute) in the real replay."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aiops.detection.config import DetectionConfig
from aiops.detection.core.seasonal import day_and_slot
from aiops.detection.models import SeasonalSlot
from aiops.detection.selectors import load_cycle_input, to_datetime
from aiops.telemetry.records import SpanRecord
from tests.detection.traffic import T0, run_cycles, store

QUARTER = T0 + 2700  # 10:45:00, which julianday() read as 10:44:59.99999


def _span(start: float) -> SpanRecord:
    return SpanRecord(
        service="cron",
        endpoint="probe",
        start_time=datetime.fromtimestamp(start, tz=UTC),
        duration_ms=15.0,
        status_code=200,
    )


@pytest.mark.django_db
def test_a_cycle_reads_start_times_exactly():
    starts = [QUARTER - 0.000001, QUARTER, QUARTER + 1.5, QUARTER + 2.123456]
    store([_span(t) for t in starts])

    data = load_cycle_input(
        now=to_datetime(QUARTER + 30),
        previous=None,
        config=DetectionConfig.from_settings(),
    )

    assert sorted(s.start for s in data.spans) == starts


@pytest.mark.django_db
def test_requests_that_start_on_a_quarter_hour_are_learned_in_its_slot():
    store([_span(QUARTER) for _ in range(6)])

    run_cycles(QUARTER - 1, QUARTER)  # one cycle, at 10:45:00

    # (The quarter before is a row too: watched for a minute, without requests.)
    slots = set(SeasonalSlot.objects.filter(requests__gt=0).values_list("day", "slot"))
    assert slots == {day_and_slot(QUARTER)}
