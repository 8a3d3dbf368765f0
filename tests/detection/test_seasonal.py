"""Daily cycles (issue 20), through ``manage.py replay``: an endpoint that is slow
every night at 02:00 (a batch) pages on the first two nights, then never; a real
fault at that hour, on top of the batch, still opens its incident and says what
was expected at that time of day; a night the batch does not run teaches nothing
wrong; with ``AIOPS_SEASONAL`` off every night pages.
An endpoint busy by day and quiet at night is not paged for one slow request in
a quiet night cycle."""

from __future__ import annotations

import json
import math
import random
import time
from datetime import datetime
from pathlib import Path

import pytest

from aiops.detection.core.seasonal import day_and_slot
from aiops.detection.models import EndpointRollup, SeasonalSlot
from aiops.detection.selectors import to_datetime
from tests.detection.traffic import T0, run_cycles, shop_traffic, store
from tests.replaying import replay_lines

MONDAY = 1_767_571_200.0  # 2026-01-05 00:00 UTC
DAY = 86_400.0
FAULT_AT = MONDAY + 3 * DAY + 2 * 3600 + 10 * 60  # Thursday 02:10, in the batch
SKIPPED = 4  # on Friday night the batch does not run


def _duration(rng: random.Random, t: float) -> float:
    value = 20.0 * rng.lognormvariate(0, 0.2)
    hour = (t % DAY) / 3600
    if 2 <= hour < 2.5 and (t - MONDAY) // DAY != SKIPPED:
        value *= 4  # the nightly batch
    if FAULT_AT <= t < FAULT_AT + 600:
        value *= 5  # a real fault, on top of it
    return value


def _lines(days: int) -> list[str]:
    rng = random.Random(20)
    t, lines = MONDAY, []
    while True:
        t += rng.expovariate(0.05)
        if t >= MONDAY + days * DAY:
            return lines
        lines.append(
            json.dumps(
                {
                    "ts": round(t, 3),
                    "service": "db",
                    "endpoint": "SELECT items",
                    "status": 200,
                    "duration_ms": round(_duration(rng, t), 3),
                }
            )
        )


def _replay(
    tmp_path: Path, seasonal: bool, lines: list[str] | None = None, interval=300
) -> list[dict]:
    return replay_lines(
        tmp_path,
        lines or _lines(5),
        interval=interval,
        env={"AIOPS_SEASONAL": "1" if seasonal else "0"},
    )


def _opened(incident: dict) -> datetime:
    return datetime.fromisoformat(incident["first_detected"])


@pytest.mark.django_db
def test_a_nightly_batch_pages_twice_then_is_expected_and_a_fault_on_top_is_not(
    tmp_path,
):
    found = _replay(tmp_path, seasonal=True)

    nights = sorted((_opened(i).day, _opened(i).hour) for i in found)
    # Monday and Tuesday night: nothing known yet (a pattern needs two days).
    assert nights[:2] == [(5, 2), (6, 2)], nights
    # Wednesday night the batch is expected; Thursday's incident is the fault;
    # Friday, with no batch at night, nothing (the usual requests at 02:00 were
    # not learned as 4 x faster than usual).
    [fault] = [i for i in found if _opened(i).day == 8]
    assert len(found) == 3, [(i["first_detected"], i["title"]) for i in found]
    opened = _opened(fault).timestamp()
    assert FAULT_AT <= opened <= FAULT_AT + 600, fault["first_detected"]
    assert fault["root_cause"]["endpoint"] == "SELECT items"
    [anomaly] = [a for a in fault["anomalies"] if a["type"] == "latency_anomaly"][:1]
    # Explained against the time of day: 4 x the usual 20 ms at 02:00-02:30.
    assert "at 02:" in anomaly["summary"] and "hour of day" in anomaly["summary"]
    assert 60 <= anomaly["expected"] <= 110, anomaly


@pytest.mark.django_db
def test_without_seasonal_baselines_every_night_pages(tmp_path):
    found = _replay(tmp_path, seasonal=False)

    nights = {_opened(i).day for i in found if _opened(i).hour == 2}
    assert nights == {5, 6, 7, 8}, [i["title"] for i in found]  # not Friday 9th


def _office_hours() -> list[str]:
    """From Monday 09:00 to Tuesday 09:00: 2 requests/s in office hours, one a
    minute otherwise; every night hour one request takes 15 x as long (a cold
    cache, a pause)."""
    rng = random.Random(7)
    t, lines = MONDAY + 9 * 3600, []
    while t < MONDAY + DAY + 9 * 3600:
        hour = (t % DAY) / 3600
        t += rng.expovariate(2.0 if 9 <= hour < 17 else 1 / 60)
        value = 20.0 * rng.lognormvariate(0, 0.3)
        lines.append(
            json.dumps(
                {
                    "ts": round(t, 3),
                    "service": "shop",
                    "endpoint": "GET /items",
                    "status": 200,
                    "duration_ms": round(value, 3),
                }
            )
        )
    for hour in range(18, 31):  # Monday 18:30 to Tuesday 06:30
        slow = {
            "ts": MONDAY + hour * 3600 + 1800.5,
            "service": "shop",
            "endpoint": "GET /items",
            "status": 200,
            "duration_ms": 300.0,
        }
        lines.append(json.dumps(slow))
    lines.sort(key=lambda line: json.loads(line)["ts"])
    return lines


@pytest.mark.django_db
def test_one_slow_request_in_a_quiet_night_cycle_is_not_a_latency_shift(tmp_path):
    found = _replay(tmp_path, seasonal=True, lines=_office_hours(), interval=60)

    assert found == [], [(i["first_detected"], i["title"]) for i in found]


def _seed(endpoint: str, epoch: float, factor: float) -> None:
    """The quarter hour of ``epoch`` was ``factor`` x slower on the two days
    before."""
    today, slot = day_and_slot(epoch)
    for back in (1, 2):
        SeasonalSlot.objects.update_or_create(
            service="shop",
            endpoint=endpoint,
            day=today - back,
            slot=slot,
            defaults={"cycles": 10, "offset_sum": 10 * math.log(factor)},
        )


@pytest.mark.django_db
def test_cycles_keep_the_time_of_day_and_the_chart_band_follows_it():
    store(shop_traffic(T0, 1200))
    run_cycles(T0, T0 + 900)  # 10:00 to 10:15

    day, slot = day_and_slot(T0 + 200)
    payment = SeasonalSlot.objects.get(endpoint="payment", day=day, slot=slot)
    # Every request of the quarter hour is counted; latency once it is judged.
    assert payment.requests > 900
    assert payment.cycles >= 20
    assert abs(payment.offset_sum / payment.cycles) < 0.3

    _seed("payment", T0 + 901, 3.0)  # 10:15 to 10:30 is usually 3 x slower
    run_cycles(T0 + 900, T0 + 1200)

    def band(since: float, until: float) -> float:
        rows = EndpointRollup.objects.filter(
            endpoint="payment", at__gt=to_datetime(since), at__lte=to_datetime(until)
        )
        return sum(r.baseline_ms for r in rows) / len(rows)

    # The band shows the expectation, 3 x; the requests did not come 3 x slower
    # this time, and the level did not learn them as 3 x faster than usual.
    assert band(T0 + 930, T0 + 1200) == pytest.approx(
        3 * band(T0 + 600, T0 + 900), rel=0.1
    )


@pytest.mark.django_db
def test_the_baselines_api_says_what_this_quarter_hour_usually_does(user_client):
    store(shop_traffic(T0, 120))
    run_cycles(T0, T0 + 120)
    # (This quarter hour, and the next in case the clock crosses into it.)
    for moment in {time.time(), time.time() + 10}:
        _seed("payment", moment, 3.0)

    rows = {
        b["endpoint"]: b for b in user_client.get("/aiops/baselines").json()["results"]
    }

    assert rows["checkout"]["time_of_day"] is None
    expected = rows["payment"]["time_of_day"]
    assert expected["basis"] == "hour of day"
    assert expected["factor"] == pytest.approx(3.0)
    assert expected["expected_latency_ms"] == pytest.approx(
        3 * rows["payment"]["latency_ms"], rel=1e-3
    )
