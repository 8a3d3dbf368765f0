#!/usr/bin/env python3
"""Request overhead of telemetry, variants side by side (interleaved, repeated).

    .venv/bin/python bench/perf/overhead.py [--rounds 3] [--seconds 15]

A trivial JSON view (GET /health) on gunicorn with 2 sync workers on 127.0.0.1,
loaded by wrk with 8 connections:
  (a) no instrumentation, (b) our middleware + batching writer on SQLite,
  (c) OpenTelemetry's Django instrumentation + SDK + BatchSpanProcessor with an
      exporter that discards, (d) (b) on PostgreSQL.
Reports throughput (and its ratio to (a) in the same round), p50/p99 latency, and
spans stored vs requests served after a graceful stop, and the workers' CPU time
per request (microseconds) in their request threads and in other threads (our span
writer, OpenTelemetry's exporter), which varies less than throughput. Needs wrk
(apt-get install wrk) and, for (d), PostgreSQL at $BENCH_POSTGRES.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.perf.common import (  # noqa: E402
    Gunicorn,
    database_url,
    median,
    save_result,
    span_count,
    wrk,
)

VARIANTS = {
    "a plain": ("aiops_site.wsgi", "sqlite", {"AIOPS_TELEMETRY_ENABLED": "0"}),
    "b ours, SQLite": ("aiops_site.wsgi", "sqlite", {}),
    "c OpenTelemetry": ("bench.perf.otel_wsgi", "sqlite", {}),
    "d ours, PostgreSQL": ("aiops_site.wsgi", "postgres", {}),
}


def run_once(name: str, seconds: int, scratch: Path, extra: dict) -> dict:
    app, kind, env = VARIANTS[name]
    env = {**env, **extra}
    url = database_url(kind, scratch, "aiops_bench_overhead")
    server = Gunicorn(app, {**env, "DATABASE_URL": url}, scratch)
    try:
        wrk(f"{server.url}/health", seconds=2)  # warm-up
        before = server.worker_cpu()
        result = wrk(f"{server.url}/health", seconds=seconds)
        after = server.worker_cpu()
        for part in ("request", "other"):
            result[f"cpu_{part}_us"] = (
                (after[part] - before[part]) / result["requests"] * 1e6
            )
    finally:
        server.stop()
    result["served"] = server.served("/health")
    result["spans"] = span_count(url, "health")
    result["locked_errors"] = server.errors_mentioning("database is locked")
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--only", default="", help="variant letters, e.g. ab")
    parser.add_argument(
        "--env", action="append", default=[], help="NAME=VALUE for the app"
    )
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.env)
    chosen = [n for n in VARIANTS if not args.only or n[0] in args.only + "a"]
    rounds = []
    with tempfile.TemporaryDirectory(prefix="aiops-perf-") as scratch:
        for number in range(args.rounds):
            results = {
                name: run_once(name, args.seconds, Path(scratch), extra)
                for name in chosen
            }
            base = results["a plain"]["rps"]
            for result in results.values():
                result["ratio"] = result["rps"] / base
            rounds.append(results)
            print(
                f"round {number + 1}: "
                + ", ".join(
                    f"{n.split()[0]} {r['rps']:.0f} rps" for n, r in results.items()
                ),
                flush=True,
            )
    print(
        f"\n{'variant':20} {'req/s':>8} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'served':>8} {'spans':>8} {'lost':>5} {'locked':>6} "
        f"{'cpu req':>7} {'cpu oth':>7}"
    )
    summary = {}
    for name in chosen:
        runs = [r[name] for r in rounds]
        row = {
            "rps": median(r["rps"] for r in runs),
            "ratio": median(r["ratio"] for r in runs),
            "p50_ms": median(r["p50_ms"] for r in runs),
            "p99_ms": median(r["p99_ms"] for r in runs),
            "served": sum(r["served"] for r in runs),
            "spans": sum(r["spans"] for r in runs),
            "locked_errors": sum(r["locked_errors"] for r in runs),
            "cpu_request_us": median(r["cpu_request_us"] for r in runs),
            "cpu_other_us": median(r["cpu_other_us"] for r in runs),
        }
        recorded = not name.startswith(("a", "c"))
        lost = row["served"] - row["spans"] if recorded else "-"
        summary[name] = row
        print(
            f"{name:20} {row['rps']:8.0f} {row['ratio']:6.2f} {row['p50_ms']:7.2f} "
            f"{row['p99_ms']:7.2f} {row['served']:8} {row['spans']:8} {lost!s:>5} "
            f"{row['locked_errors']:6} {row['cpu_request_us']:7.0f} "
            f"{row['cpu_other_us']:7.1f}"
        )
    save_result("perf", "overhead", {"rounds": rounds, "summary": summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())
