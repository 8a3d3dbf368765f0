#!/usr/bin/env python3
"""What time-of-day baselines (issue 20) add to an analysis cycle.

    .venv/bin/python bench/perf/seasonal_cost.py [--engine sqlite] [--rounds 3]

The database of ``analysis_cost.py`` (1 M spans, 100 endpoints, 100,000 spans in
the last five minutes) plus 14 days of seasonal history for every endpoint (96
quarter hours a day: 134,400 ``SeasonalSlot`` rows, the most that is ever kept).
After two cold cycles, steady cycles 30 s apart alternate ``AIOPS_SEASONAL=1``
and ``=0`` on the same database, so the two are measured side by side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.perf.analysis_cost import CYCLE, ENDPOINTS, T, fill  # noqa: E402
from bench.perf.common import ROOT, database_url, manage, save_result  # noqa: E402

DAYS = 14

SEED = """
import math, random
from aiops.detection.core.seasonal import SLOTS_PER_DAY, day_and_slot
from aiops.detection.models import SeasonalSlot
today, _ = day_and_slot({now})
rng = random.Random(1)
rows = [
    SeasonalSlot(service=s, endpoint=e, day=today - back, slot=slot, cycles=30,
                 offset_sum=30 * rng.gauss(0, 0.1), requests=900, errors=0,
                 seconds=900.0)
    for s, e in {endpoints!r}
    for back in range(1, {days} + 1)
    for slot in range(SLOTS_PER_DAY)
]
SeasonalSlot.objects.bulk_create(rows, batch_size=5000)
print(len(rows))
"""


def cycle(url: str, at, seasonal: bool) -> dict:
    output = manage(
        "shell",
        "-c",
        CYCLE.format(now=at.isoformat()),
        env={"DATABASE_URL": url, "AIOPS_SEASONAL": "1" if seasonal else "0"},
        capture=True,
    )
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aiops-season-", dir=ROOT / "var") as tmp:
        url = database_url(args.engine, Path(tmp), "aiops_bench_season")
        fill(url, 1_000_000)
        seeded = manage(
            "shell",
            "-c",
            SEED.format(now=T.timestamp(), endpoints=ENDPOINTS, days=DAYS),
            env={"DATABASE_URL": url},
            capture=True,
        ).split()[-1]
        steps = 2 + 2 * args.rounds
        times = [T - timedelta(seconds=30 * (steps - 1 - n)) for n in range(steps)]
        for at in times[:2]:
            cycle(url, at, seasonal=True)  # cold: bootstraps, counters
        on, off = [], []
        for n, at in enumerate(times[2:]):
            seasonal = n % 2 == 0
            (on if seasonal else off).append(cycle(url, at, seasonal)["seconds"])
    result = {
        "engine": args.engine,
        "seasonal_rows": int(seeded),
        "cycles_each": args.rounds,
        "on_s": [round(s, 3) for s in on],
        "off_s": [round(s, 3) for s in off],
        "on_median_s": round(statistics.median(on), 3),
        "off_median_s": round(statistics.median(off), 3),
        "per_endpoint_ms": round(
            (statistics.median(on) - statistics.median(off)) * 1000 / len(ENDPOINTS),
            3,
        ),
    }
    print(json.dumps(result, indent=1))
    save_result("perf", "seasonal_cost", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
