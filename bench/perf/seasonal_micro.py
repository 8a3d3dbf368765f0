#!/usr/bin/env python3
"""What the time-of-day work costs per endpoint and cycle, in the detection core
alone (no database): reading a season from 15 days of history, recording a
cycle's slot observations, and the traffic judgement of an entry point.

    .venv/bin/python bench/perf/seasonal_micro.py

``seasonal_cost.py`` measures whole cycles with and without it; this says where
the time goes, per endpoint, without the noise of a loaded database.
"""

from __future__ import annotations

import os
import random
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aiops_site.settings")

import django  # noqa: E402

django.setup()

from aiops.detection.config import DetectionConfig  # noqa: E402
from aiops.detection.core.detectors import traffic  # noqa: E402
from aiops.detection.core.detectors.base import DetectContext  # noqa: E402
from aiops.detection.core.seasonal import (  # noqa: E402
    HISTORY_DAYS,
    Season,
    SlotDay,
    TrafficBand,
    day_and_slot,
    observe,
    season_for,
)
from aiops.detection.core.types import Baseline, EndpointKey, SpanRow  # noqa: E402
from aiops.detection.core.window import EndpointWindow  # noqa: E402

NOW = 1_800_000_600.0
KEY = EndpointKey("shop", "GET /items")


def per_call(fn, seconds: float = 1.0) -> float:
    """Microseconds per call, from about ``seconds`` of calls."""
    number = 10
    while (elapsed := timeit.timeit(fn, number=number)) < seconds / 10:
        number *= 10
    return elapsed / number * 1e6


def main() -> None:
    rng = random.Random(1)
    day, slot = day_and_slot(NOW)
    history = [
        SlotDay(day - back, s, 30, 30 * rng.gauss(0, 0.3), 900, 9, 900.0)
        for back in range(HISTORY_DAYS + 1)
        for s in range(slot - 6, slot + 1)
    ]
    starts = [(NOW - 30 * rng.random(), 50.0, False) for _ in range(30)]
    band = TrafficBand(0.9, 1.1, "hour of week", 3)
    season = Season(traffic={(day, slot): band}, watched={(day, slot): (540, 570.0)})
    spans = [
        SpanRow(*KEY, "server", t, d, 200, f, None, None, None) for t, d, f in starts
    ]
    for name, calls in (
        ("surge", spans * 4),  # 120 requests in a cycle where about 30 are usual
        ("usual", spans),
    ):
        context = DetectContext(
            now=NOW,
            config=DetectionConfig(),
            window=EndpointWindow(KEY, NOW - 60, NOW, calls, []),
            baseline=Baseline(key=KEY, season=season),
            in_incident=False,
            bucket_start=NOW - 30,
        )
        cost = per_call(lambda c=context: traffic.detect(c))
        print(f"traffic judgement ({name}, {len(calls)} requests)  {cost:7.1f} us")
    cost = per_call(lambda: season_for(history, since=NOW - 1800, now=NOW))
    print(f"season from {HISTORY_DAYS + 1} days x 7 quarter hours     {cost:7.1f} us")
    cost = per_call(lambda: observe(starts, 3.9, since=NOW - 30, until=NOW))
    print(f"slot observations of a cycle (30 requests)  {cost:7.1f} us")


if __name__ == "__main__":
    main()
