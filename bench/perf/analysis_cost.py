#!/usr/bin/env python3
"""Cost of one analysis cycle as stored history grows: 1 M, 5 M, 20 M spans.

    .venv/bin/python bench/perf/analysis_cost.py [--sizes 1,5,20]
        [--engines sqlite,postgres]

100 endpoints (10 services x 10). The last 5 minutes hold 100,000 spans (traces of
a caller and a callee); the rest of the history is spread over the days before.
Spans are written straight into the database (sqlite3 executemany / PostgreSQL
COPY). Then cycles run in separate processes at T-90 s and T-60 s (cold: baselines
bootstrapped from history, counters started; the slower is reported), T-30 s and T
(steady state, the slower is reported), with the peak RSS of those processes.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.perf.common import ROOT, database_url, manage, save_result  # noqa: E402

T = datetime(2026, 1, 20, 12, 0, 0, tzinfo=UTC)
RECENT = 100_000
ENDPOINTS = [(f"svc{s}", f"GET /op{e}") for s in range(10) for e in range(10)]
COLUMNS = (
    "service",
    "endpoint",
    "kind",
    "method",
    "status_code",
    "duration_ms",
    "start_time",
    "trace_id",
    "span_id",
    "parent_span_id",
    "is_error",
    "error_type",
    "error_message",
    "stack_trace",
    "peer",
)


def rows(total: int, seed: int = 1):
    """History first (no trace ids), then the last five minutes as traces."""
    rng = random.Random(seed)
    history = total - RECENT
    days = max(1, history // 2_000_000)  # about 2 M spans a day
    start = T - timedelta(days=days, minutes=5)
    span = (timedelta(days=days)).total_seconds() / max(history, 1)
    for n in range(history):
        service, endpoint = ENDPOINTS[n % 100]
        yield (
            service,
            endpoint,
            "server",
            "GET",
            200,
            rng.lognormvariate(3, 0.3),
            start + timedelta(seconds=n * span),
            None,
            None,
            None,
            False,
            "",
            "",
            "",
            "",
        )
    recent_start = T - timedelta(minutes=5)
    for n in range(0, RECENT, 2):
        # Each endpoint calls one of three others, as real call graphs are sparse.
        index = rng.randrange(100)
        caller = ENDPOINTS[index]
        callee = ENDPOINTS[(index * 7 + 1 + rng.randrange(3)) % 100]
        when = recent_start + timedelta(seconds=300 * n / RECENT)
        trace = f"{rng.getrandbits(128):032x}"
        parent, child = f"{rng.getrandbits(64):016x}", f"{rng.getrandbits(64):016x}"
        inner = rng.lognormvariate(3, 0.3)
        yield (
            *caller,
            "server",
            "GET",
            200,
            inner + rng.lognormvariate(2, 0.3),
            when,
            trace,
            parent,
            None,
            False,
            "",
            "",
            "",
            "",
        )
        yield (
            *callee,
            "server",
            "GET",
            200,
            inner,
            when + timedelta(milliseconds=1),
            trace,
            child,
            parent,
            False,
            "",
            "",
            "",
            "",
        )


def fill(url: str, total: int) -> float:
    started = time.perf_counter()
    batch, size = [], 50_000
    if url.startswith("sqlite"):
        import sqlite3

        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        sql = (
            f"INSERT INTO telemetry_span ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(COLUMNS))})"
        )
        for row in rows(total):
            row = list(row)
            row[6] = row[6].strftime("%Y-%m-%d %H:%M:%S.%f")
            batch.append(row)
            if len(batch) >= size:
                db.executemany(sql, batch)
                db.commit()
                batch.clear()
        db.executemany(sql, batch)
        db.commit()
        # No ANALYZE: nothing runs it on a deployed SQLite database, and the
        # planner's choices without statistics are the ones to measure.
        db.close()
    else:
        import psycopg

        with psycopg.connect(url) as conn, conn.cursor() as cursor:
            with cursor.copy(
                f"COPY telemetry_span ({', '.join(COLUMNS)}) FROM STDIN"
            ) as copy:
                for row in rows(total):
                    copy.write_row(row)
            # Autovacuum analyzes a freshly loaded table within a minute or so.
            cursor.execute("ANALYZE telemetry_span")
    return time.perf_counter() - started


CYCLE = """
import json, resource, time
from datetime import datetime
from aiops.detection.analysis import run_analysis_cycle
now = datetime.fromisoformat({now!r})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
report = run_analysis_cycle(now=now, trigger="bench")
print(json.dumps({{"seconds": time.perf_counter() - started, "spans": report.spans,
    "rss_before_mb": before / 1024,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def cycle(url: str, at: datetime) -> dict:
    output = manage(
        "shell",
        "-c",
        CYCLE.format(now=at.isoformat()),
        env={"DATABASE_URL": url},
        capture=True,
    )
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,5,20", help="millions of spans")
    parser.add_argument("--engines", default="sqlite,postgres")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="aiops-cost-", dir=ROOT / "var") as scratch:
        for engine in args.engines.split(","):
            for size in (int(float(s) * 1_000_000) for s in args.sizes.split(",")):
                url = database_url(engine, Path(scratch), f"aiops_bench_cost_{size}")
                fill_seconds = fill(url, size)
                # Cold: baselines bootstrapped from history, then the first count of
                # the /metrics counters; then two ordinary cycles.
                cold = cycle(url, T - timedelta(seconds=90))
                first_count = cycle(url, T - timedelta(seconds=60))
                steady = [cycle(url, T - timedelta(seconds=30)), cycle(url, T)]
                row = {
                    "engine": engine,
                    "spans": size,
                    "fill_s": round(fill_seconds, 1),
                    "cold_s": round(max(cold["seconds"], first_count["seconds"]), 3),
                    "steady_s": round(max(s["seconds"] for s in steady), 3),
                    "window_spans": steady[-1]["spans"],
                    "peak_rss_mb": round(
                        max(s["peak_rss_mb"] for s in [cold, *steady]), 1
                    ),
                    "rss_before_mb": round(cold["rss_before_mb"], 1),
                }
                results.append(row)
                print(json.dumps(row), flush=True)
                if engine == "sqlite":
                    for suffix in ("", "-wal", "-shm"):
                        Path(url.removeprefix("sqlite:///") + suffix).unlink(
                            missing_ok=True
                        )
    print(
        f"\n{'engine':9} {'spans':>10} {'cold s':>7} {'steady s':>9} "
        f"{'window':>7} {'peak RSS MB':>12}"
    )
    for r in results:
        print(
            f"{r['engine']:9} {r['spans']:>10,} {r['cold_s']:7.3f} "
            f"{r['steady_s']:9.3f} {r['window_spans']:7} {r['peak_rss_mb']:12.1f}"
        )
    save_result("perf", "analysis_cost", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
