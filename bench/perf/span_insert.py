#!/usr/bin/env python3
"""Cost of storing one span, by trace-id shape and statement shape, side by side.

    .venv/bin/python bench/perf/span_insert.py [--rounds 3] [--preload 300000]
        [--engines sqlite,postgres]

On the real, migrated schema (the span table and its three indexes), each variant
first holds --preload spans, then stores 100 batches of 1,000 more, timed:
  trace ids   random: 128 random bits, what the middleware made before;
              time:   8 hex digits of epoch seconds, then 96 random bits (now);
  statements  executemany: one row per step (what the writer did before);
              multirow: INSERTs of 256 rows, as aiops/telemetry/store.py does now.
SQLite: CPU time of this process per span (the writer thread's cost in a web
worker). PostgreSQL: wall time per span of COPY, the middleware's path there, whose
cost is mostly the server's. Variants alternate within each round; medians.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.perf.analysis_cost import COLUMNS  # noqa: E402
from bench.perf.common import database_url, save_result  # noqa: E402

BATCH, BATCHES, PER_STATEMENT = 1_000, 100, 256
START = datetime(2026, 1, 20, tzinfo=UTC)


def spans(count: int, first: int, ids: str, rng: random.Random) -> list[tuple]:
    rows = []
    for n in range(first, first + count):
        when = START + timedelta(microseconds=300 * n)
        if ids == "time":
            trace = f"{int(when.timestamp()):08x}{rng.getrandbits(96):024x}"
        else:
            trace = f"{rng.getrandbits(128):032x}"
        rows.append(
            ("shop", "health", "server", "GET", 200, 1.5, when, trace,
             f"{rng.getrandbits(64):016x}", None, False, "", "", "", "")
        )  # fmt: skip
    return rows


def sqlite_writer(path: str, statements: str):
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    one = "(" + ", ".join("?" * len(COLUMNS)) + ")"
    head = f"INSERT INTO telemetry_span ({', '.join(COLUMNS)}) VALUES "

    def write(rows: list[tuple]) -> None:
        rows = [(*r[:6], str(r[6].replace(tzinfo=None)), *r[7:]) for r in rows]
        db.execute("BEGIN IMMEDIATE")
        if statements == "executemany":
            db.executemany(head + one, rows)
        else:
            for start in range(0, len(rows), PER_STATEMENT):
                chunk = rows[start : start + PER_STATEMENT]
                db.execute(
                    head + ", ".join([one] * len(chunk)),
                    [value for row in chunk for value in row],
                )
        db.execute("COMMIT")

    return write, db.close


def postgres_writer(url: str):
    import psycopg

    conn = psycopg.connect(url)

    def write(rows: list[tuple]) -> None:
        with conn.cursor() as cursor:
            with cursor.copy(
                f"COPY telemetry_span ({', '.join(COLUMNS)}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        conn.commit()

    return write, conn.close


def measure(engine: str, scratch: Path, ids: str, statements: str, preload: int):
    url = database_url(engine, scratch, "aiops_bench_insert")
    if engine == "sqlite":
        write, close = sqlite_writer(url.removeprefix("sqlite:///"), statements)
        clock = time.process_time
    else:
        write, close = postgres_writer(url)
        clock = time.perf_counter
    rng = random.Random(7)
    try:
        for first in range(0, preload, 10_000):
            write(spans(10_000, first, ids, rng))
        batches = [spans(BATCH, preload + n * BATCH, ids, rng) for n in range(BATCHES)]
        started = clock()
        for batch in batches:
            write(batch)
        return (clock() - started) / (BATCH * BATCHES) * 1e6
    finally:
        close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--preload", type=int, default=300_000)
    parser.add_argument("--engines", default="sqlite,postgres")
    args = parser.parse_args()
    variants = {
        "sqlite": [
            (ids, statements)
            for ids in ("random", "time")
            for statements in ("executemany", "multirow")
        ],
        "postgres": [("random", "copy"), ("time", "copy")],
    }
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="aiops-insert-") as scratch:
        for number in range(args.rounds):
            for engine in args.engines.split(","):
                for ids, statements in variants[engine]:
                    name = f"{engine} {ids} ids, {statements}"
                    cost = measure(engine, Path(scratch), ids, statements, args.preload)
                    results.setdefault(name, []).append(cost)
            print(f"round {number + 1} done", flush=True)
    print(f"\n{'variant':38} {'us/span':>8}  (each round)")
    for name, costs in results.items():
        print(
            f"{name:38} {statistics.median(costs):8.1f}  "
            + " ".join(f"{c:.1f}" for c in costs)
        )
    save_result("perf", "span_insert", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
