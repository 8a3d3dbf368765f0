#!/usr/bin/env python3
"""PostgreSQL: B-tree vs BRIN on the span start time, side by side.

    .venv/bin/python bench/perf/pg_indexes.py [--millions 5] [--repeat 15] [--reuse]

One database is filled as in analysis_cost.py (100 endpoints, history in time order,
the last 5 minutes as traces) with a B-tree ``span_start_idx``, then cloned twice
(CREATE DATABASE ... TEMPLATE) with a BRIN index of 128 and of 32 pages per range
in its place. All three get the same work, alternating: the time-range reads an
analysis cycle makes (the last 60 s, an hour a day ago), whole analysis cycles, and
three COPYs of new spans each (index maintenance on the write path). Reports index
sizes, medians and ratios to the B-tree. --reuse starts from the filled database a
last run left (its appended spans included).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.perf.analysis_cost import COLUMNS, ENDPOINTS, T, cycle, fill  # noqa: E402
from bench.perf.common import POSTGRES, ROOT, database_url, save_result  # noqa: E402

WINDOW = (
    "SELECT count(*), avg(duration_ms) FROM telemetry_span "
    "WHERE start_time >= %s AND start_time < %s"
)


def connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


def clone(source: str, name: str) -> str:
    with connect(f"{POSTGRES}/postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    return f"{POSTGRES}/{name}"


def use_brin(url: str, pages_per_range: int) -> None:
    with connect(url) as conn:
        conn.execute("DROP INDEX IF EXISTS span_start_idx")
        conn.execute(
            "CREATE INDEX span_start_idx ON telemetry_span USING brin (start_time) "
            f"WITH (pages_per_range = {pages_per_range})"
        )
        conn.execute("ANALYZE telemetry_span")


def use_btree(url: str) -> None:
    with connect(url) as conn:
        (method,) = conn.execute(
            "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
            "WHERE c.relname = 'span_start_idx'"
        ).fetchone()
        if method != "btree":
            conn.execute("DROP INDEX span_start_idx")
            conn.execute("CREATE INDEX span_start_idx ON telemetry_span (start_time)")
            conn.execute("ANALYZE telemetry_span")


def index_size_mb(url: str) -> float:
    with connect(url) as conn:
        (size,) = conn.execute(
            "SELECT sum(pg_relation_size(indexrelid)) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = 'span_start_idx'"
        ).fetchone()
    return float(size) / 1e6


def plan(url: str, start, end) -> str:
    with connect(url) as conn:
        lines = conn.execute("EXPLAIN " + WINDOW, (start, end)).fetchall()
    nodes = [line[0].strip().lstrip("-> ") for line in lines]
    return next((n.split("  ")[0] for n in nodes if " on " in n), nodes[0])


def range_read(url: str, start, end) -> float:
    with connect(url) as conn:
        began = time.perf_counter()
        conn.execute(WINDOW, (start, end)).fetchone()
        return time.perf_counter() - began


def append(url: str, count: int) -> float:
    """COPY ``count`` new spans after T: the write path with the index kept."""
    with connect(url) as conn:
        (latest,) = conn.execute(
            "SELECT max(start_time) FROM telemetry_span"
        ).fetchone()
    began = time.perf_counter()
    with connect(url) as conn, conn.cursor() as cursor:
        with cursor.copy(
            f"COPY telemetry_span ({', '.join(COLUMNS)}) FROM STDIN"
        ) as copy:
            for n in range(count):
                service, endpoint = ENDPOINTS[n % 100]
                when = latest + timedelta(seconds=1 + n * 0.001)
                copy.write_row(
                    (service, endpoint, "server", "GET", 200, 20.0, when)
                    + (None, None, None, False, "", "", "", "")
                )
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--millions", type=float, default=5)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--append", type=int, default=300_000)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the filled database of a last run"
    )
    args = parser.parse_args()
    size = int(args.millions * 1_000_000)
    with tempfile.TemporaryDirectory(prefix="aiops-idx-", dir=ROOT / "var") as scratch:
        if args.reuse:
            btree, fill_s = f"{POSTGRES}/aiops_bench_btree", 0.0
        else:
            btree = database_url("postgres", Path(scratch), "aiops_bench_btree")
            fill_s = fill(btree, size)
        use_btree(btree)  # whatever migrations made it, the baseline is a B-tree
        variants = {"btree": btree}
        for pages in (128, 32):
            variants[f"brin{pages}"] = clone(
                "aiops_bench_btree", f"aiops_bench_b{pages}"
            )
            use_brin(variants[f"brin{pages}"], pages)
        reads = {
            "last 60 s": (T - timedelta(seconds=60), T),
            "1 h a day ago": (T - timedelta(days=1), T - timedelta(days=1, hours=-1)),
        }
        result: dict = {"spans": size, "fill_s": round(fill_s, 1), "variants": {}}
        for name, url in variants.items():
            result["variants"][name] = {
                "index_mb": round(index_size_mb(url), 2),
                "plan": plan(url, *reads["last 60 s"]),
                "reads": {r: [] for r in reads},
                "cycles": [],
            }
        for _ in range(args.repeat):  # alternate, so drift hits both alike
            for name, url in variants.items():
                for read, (start, end) in reads.items():
                    result["variants"][name]["reads"][read].append(
                        range_read(url, start, end)
                    )
        for at in (-90, -60, -30, 0):  # cold cycles, then steady ones
            for name, url in variants.items():
                seconds = cycle(url, T + timedelta(seconds=at))["seconds"]
                result["variants"][name]["cycles"].append(seconds)
        for _ in range(3):
            for name, url in variants.items():
                result["variants"][name].setdefault("appends", []).append(
                    append(url, args.append)
                )

    print(f"\n{size:,} spans; {args.repeat} reads each, alternating; medians\n")
    rows = [("index size MB", lambda v: v["index_mb"], "{:.2f}")]
    for read in reads:
        rows.append(
            (
                f"read {read} ms",
                lambda v, r=read: 1000 * statistics.median(v["reads"][r]),
                "{:.2f}",
            )
        )
    rows += [
        ("steady cycle s", lambda v: max(v["cycles"][2:]), "{:.3f}"),
        (
            f"COPY {args.append:,} spans s",
            lambda v: statistics.median(v["appends"]),
            "{:.2f}",
        ),
    ]
    b = result["variants"]["btree"]
    others = [n for n in result["variants"] if n != "btree"]
    print(
        f"{'':26} {'B-tree':>9}"
        + "".join(f" {n:>9} {'ratio':>6}" for n in others)
        + "\n(BRIN with 128 and 32 pages per range; ratio to B-tree)"
    )
    for label, value, fmt in rows:
        x = value(b)
        line = f"{label:26} {fmt.format(x):>9}"
        for name in others:
            y = value(result["variants"][name])
            line += f" {fmt.format(y):>9} {y / x:6.2f}"
        print(line)
    for name, v in result["variants"].items():
        print(f"plan {name}: {v['plan']}")
    save_result("perf", "pg_indexes", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
