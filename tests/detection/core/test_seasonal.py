"""The time-of-day expectation (``aiops.detection.core.seasonal``) on plain data."""

from __future__ import annotations

import math

import pytest

from aiops.detection.core.seasonal import (
    SlotDay,
    day_and_slot,
    expected_error_rate,
    expected_offset,
    season_for,
    traffic_band,
)
from tests.detection.core.plain import NOW, baseline, run, span

DAY, SLOT = day_and_slot(NOW)
FOUR_X = math.log(4)


def days(*offsets: float, slot: int = SLOT, first: int = 1) -> list[SlotDay]:
    """The slot on the days before today: offsets[0] yesterday, then earlier."""
    return [
        SlotDay(DAY - first - n, slot, cycles=10, offset_sum=10 * offset)
        for n, offset in enumerate(offsets)
    ]


def test_a_pattern_seen_on_two_days_is_expected_by_its_weakest_day():
    assert expected_offset(days(FOUR_X, math.log(3)), DAY) == (
        math.log(3),
        "hour of day",
    )


def test_one_day_is_not_a_pattern_and_a_one_off_fault_is_outvoted():
    assert expected_offset(days(FOUR_X), DAY)[0] == 0.0
    assert expected_offset(days(FOUR_X, 0.0, 0.0), DAY)[0] == 0.0
    # Healthy yesterday, a fault the day before and the day before that: the
    # latest three days must all agree.
    assert expected_offset(days(0.0, FOUR_X, FOUR_X), DAY)[0] == 0.0


def test_small_offsets_are_noise():
    assert expected_offset(days(0.1, 0.15, 0.12), DAY)[0] == 0.0


def test_the_same_weekday_wins_once_two_weeks_are_known():
    history = days(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, FOUR_X, 0.0, 0.0, 0.0, 0.0, 0.0)
    history += [SlotDay(DAY - 14, SLOT, cycles=10, offset_sum=10 * FOUR_X)]
    assert expected_offset(history, DAY) == (FOUR_X, "hour of week")


def test_slot_days_with_too_few_cycles_say_nothing():
    thin = [SlotDay(DAY - n, SLOT, cycles=1, offset_sum=FOUR_X) for n in (1, 2)]
    assert expected_offset(thin, DAY)[0] == 0.0


def test_requests_are_judged_against_the_expectation_for_their_time():
    # NOW starts a quarter hour: the requests are in the one before it.
    before = day_and_slot(NOW - 20)[1]
    season = season_for(days(FOUR_X, FOUR_X, slot=before), since=NOW - 1800, now=NOW)
    batch = [span("db", 400.0, start=NOW - 20 + i) for i in range(10)]
    plain = baseline("db", 100.0)
    seasonal = baseline("db", 100.0, season=season)

    assert [f.type for f in run(batch, [plain]).findings] == ["latency_anomaly"]
    assert run(batch, [seasonal]).findings == []
    # Five times the expectation is slow even at that time of day.
    fault = [span("db", 2000.0, start=NOW - 20 + i) for i in range(10)]
    [finding] = run(fault, [seasonal]).findings
    assert "hour of day" in finding.summary
    assert round(finding.expected) == 400


def watched(back: int, rate: float, *, errors: float = 0.0) -> SlotDay:
    requests = int(rate * 900)
    return SlotDay(DAY - back, SLOT, 0, 0.0, requests, int(errors * requests), 900.0)


def test_traffic_needs_the_same_weekday_of_an_earlier_week():
    recent = [watched(1, 2.0), watched(2, 2.0), watched(3, 2.0)]
    assert traffic_band(recent, DAY) is None
    band = traffic_band([*recent, watched(7, 0.5)], DAY)
    assert (band.low, band.high, band.days) == (0.5, 2.0, 4)
    assert band.basis == "hour of week and recent days"
    two_weeks = traffic_band([*recent, watched(7, 1.0), watched(14, 1.5)], DAY)
    assert (two_weeks.low, two_weeks.high, two_weeks.basis) == (
        1.0,
        1.5,
        "hour of week",
    )


def test_a_slot_day_watched_only_in_part_says_nothing_of_traffic():
    partial = SlotDay(DAY - 7, SLOT, 0, 0.0, 10, 0, 120.0)
    assert traffic_band([partial, watched(1, 2.0)], DAY) is None


def test_an_error_rate_is_usual_only_when_every_recent_day_had_it():
    assert expected_error_rate(
        [watched(1, 1, errors=0.3), watched(2, 1, errors=0.2)], DAY
    ) == (pytest.approx(0.2, abs=0.01))
    assert (
        expected_error_rate(
            [
                watched(1, 1, errors=0.3),
                watched(2, 1, errors=0.0),
                watched(3, 1, errors=0.3),
            ],
            DAY,
        )
        == 0.0
    )
    assert expected_error_rate([watched(1, 1, errors=0.3)], DAY) == 0.0
