#!/usr/bin/env python3
"""NAB in minutes: the product's ``analyze()`` cycle by cycle over each series, in
memory, for iterating on detectors.

    .venv/bin/python bench/quality/nab_fast.py [-v]

``run.py --part nab`` is the measurement (``manage.py replay`` through the
database, about an hour on the shared machine); this is the loop to find what to
measure. It runs the detection core itself, carrying baselines and the time-of-
day history from cycle to cycle as the analysis service does (an endpoint idle
for longer than the retention period is forgotten, and one seen anew starts
from the bootstrap history before its window, as the service and the selectors
do), and mimics the incident lifecycle: one active incident per endpoint,
updated while its findings keep coming, resolved after ``resolve_after`` seconds
without them, and a fault within ``reopen_window`` of a resolve reopens it (no
new detection). A detection is an incident's first cycle. It skips the
database, operator actions, change attribution, storms and caps.

It agrees with the real run file by file: on the series detector's code both
gave 65.6 / 58.0 / 70.4 and 44 windows (the real run with exact span times,
see aiops.telemetry.functions.Epoch). It had said 67.5 and 45 while it kept the
baseline of ambient_temperature_system_failure across a 7.25-day gap in the
data, which the service forgets after its 7 days.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from bisect import bisect_right
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aiops_site.settings")

import django  # noqa: E402

django.setup()

from aiops.detection import persistence  # noqa: E402
from aiops.detection.config import DetectionConfig  # noqa: E402
from aiops.detection.core import baseline as baselines_  # noqa: E402
from aiops.detection.core import seasonal  # noqa: E402
from aiops.detection.core.analyze import CycleInput, analyze  # noqa: E402
from aiops.detection.core.types import EndpointKey, SpanRow  # noqa: E402
from aiops.detection.replay import cycle_times  # noqa: E402
from bench.quality import nab, scoring  # noqa: E402


class SeasonHistory:
    """The time-of-day rows (``SeasonalSlot``) in a dict: (day, slot) ->
    [cycles, offset sum]."""

    def __init__(self) -> None:
        self.rows: dict[tuple[int, int], list] = {}

    def save(self, observations, now: float) -> None:
        today, _ = seasonal.day_and_slot(now)
        for seen in observations:
            if seen.day < today - seasonal.HISTORY_DAYS or seen.offset is None:
                continue
            row = self.rows.setdefault((seen.day, seen.slot), [0, 0.0])
            row[0] += 1
            row[1] += seen.offset

    def season(self, since: float, now: float):
        today, _ = seasonal.day_and_slot(now)
        slots = set(seasonal.slots_between(since, now))
        days = [
            seasonal.SlotDay(day, slot, cycles, total)
            for (day, slot), (cycles, total) in self.rows.items()
            if slot in slots and today - seasonal.HISTORY_DAYS <= day < today
        ]
        return seasonal.season_for(days, since=since, now=now) if days else None


def detections(series: nab.Series) -> list[float]:
    """The moments incidents open on the series' endpoint."""
    config = DetectionConfig.from_settings(interval=series.step)
    key = EndpointKey("nab", series.endpoint)
    pairs = sorted(zip(series.timestamps, series.values, strict=True))
    starts = [t for t, _ in pairs]
    rows = [
        SpanRow("nab", series.endpoint, "server", t, v, 200, False, None, None, None)
        for t, v in pairs
    ]
    window = config.effective_window
    baselines: dict = {}
    history = SeasonHistory()
    found: list[float] = []
    active, quiet, resolved_at, previous = False, 0.0, None, None
    for now in cycle_times(starts[0], starts[-1], config.interval):
        first, last = bisect_right(starts, now - window), bisect_right(starts, now)
        if key not in baselines and last > 0:
            # A new endpoint (or one forgotten after the retention period, see
            # below) starts from the spans of the bootstrap history before the
            # window, as the selectors read them.
            since = bisect_right(starts, now - config.bootstrap_history)
            older = [(starts[i], pairs[i][1]) for i in range(since, first)][-5000:]
            baselines[key] = baselines_.bootstrap(
                key, older, now=now, until=now - window, config=config
            )
        borrowed = {}
        learned = baselines.get(key)
        if learned is not None:
            # Few spans in the window: the most recent older ones, as selectors do.
            need = config.min_window_samples - (last - first)
            recent = (
                learned.last_seen is not None
                and learned.last_seen > now - config.lookback
            )
            if (
                need > 0
                and learned.knows_enough(config.min_baseline_samples)
                and (recent or last > first)
            ):
                since = bisect_right(starts, now - config.lookback)
                older = rows[max(since, first - need) : first]
                if older:
                    borrowed[key] = list(reversed(older))
            if config.seasonal:
                season = history.season(now - config.lookback, now)
                if season is not None:
                    baselines[key] = replace(learned, season=season)
        result = analyze(
            CycleInput(
                now=now,
                previous=previous,
                spans=rows[first:last],
                borrowed=borrowed,
                baselines=dict(baselines),
                in_incident={key} if active else set(),
            ),
            config,
        )
        # What is stored: without the season, and without an endpoint idle for
        # longer than it is kept (persistence.save_baselines).
        baselines = {
            k: replace(b, season=None)
            for k, b in result.baselines.items()
            if not persistence._idle(b, now, config)
        }
        if config.seasonal:
            history.save(result.seasonal.get(key, []), now)
        seen = False
        for group in result.groups:
            if group.root != key:
                continue
            if active:
                seen = True
            elif group.opens_incident:
                reopened = (
                    resolved_at is not None
                    and resolved_at >= now - config.reopen_window
                )
                if not reopened:
                    found.append(now)
                active, seen, quiet, resolved_at = True, True, 0.0, None
        if active and seen:
            quiet = 0.0
        elif active and previous is not None:
            quiet += min(now - previous, window)
            if quiet >= config.resolve_after:
                active, resolved_at = False, now
        previous = now
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-v", action="store_true", help="a line per file")
    args = parser.parse_args()
    started = time.perf_counter()
    series_list, costs = nab.load(), nab.costs()
    totals = dict.fromkeys(costs, 0.0)
    windows = hits = false = 0
    for series in series_list:
        found = detections(series)
        for profile, cost in costs.items():
            score, hit, fp = scoring.nab_file_score(
                series.timestamps, series.windows, found, cost
            )
            totals[profile] += score
            if profile == "standard":
                hits, false = hits + hit, false + fp
                if args.v:
                    print(
                        f"  {series.name:58} windows {len(series.windows)} hit {hit} "
                        f"false {fp} score {score:+.3f}"
                    )
        windows += len(series.windows)
    scores = {
        p: round(scoring.nab_normalized(totals[p], windows, c), 1)
        for p, c in costs.items()
    }
    print(
        f"standard {scores['standard']}  low-FP {scores['reward_low_FP_rate']}  "
        f"low-FN {scores['reward_low_FN_rate']}  windows {hits}/{windows}  "
        f"false {false}  ({time.perf_counter() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
