#!/usr/bin/env python3
"""Request overhead of telemetry, variants side by side in short interleaved slices.

    .venv/bin/python bench/perf/overhead.py [--slices 20] [--seconds 3] [--rate 1000]

A trivial JSON view (GET /health) on gunicorn with 2 sync workers on 127.0.0.1,
loaded by wrk with 8 connections:
  (a) no instrumentation, (b) our middleware + batching writer on SQLite,
  (c) OpenTelemetry's Django instrumentation + SDK + BatchSpanProcessor with an
      exporter that discards, (d) (b) on PostgreSQL.
All four servers run from start to end; the load goes to one at a time, in slices
of --seconds, the variants' order rotating from slice to slice, with a pause before
each slice in which the previous variant's writer finishes its last flush. This
machine's speed drifts by 10-30 % within minutes, so every variant sees the same
drift, and each figure is the median over the slices of its per-slice value
(throughput ratio and p99 difference to (a) in the same slice).

Reports throughput, p50/p99 latency, spans stored vs requests served after a
graceful stop, and the workers' CPU time per request (microseconds) in their request
threads and in other threads (our span writer, OpenTelemetry's exporter).

"pool p99" is the p99 of all of a variant's slices together (each slice keeps its
latency distribution as 1,000 quantiles; wrk prints them through quantiles.lua),
"+pool" what that adds to plain's, with a 90 % bootstrap interval over the slices
(latency.py): a single slice's p99 rests on a few dozen requests.

Each slice is followed (after another pause) by a paced slice on the same server:
--rate requests/s, evenly spread, well below saturation (see common.paced), whose
p50/p99 are reported in a second table. Needs wrk and hey (apt-get install wrk hey)
and, for (d), PostgreSQL at $BENCH_POSTGRES.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.perf.common import (  # noqa: E402
    Gunicorn,
    database_url,
    drop_database,
    median,
    paced,
    save_result,
    span_count,
    wrk,
)
from bench.perf.latency import Pooled, added_p99  # noqa: E402

# name: (WSGI module, database, environment, records spans of its own)
HEALTH = {
    "a plain": ("aiops_site.wsgi", "sqlite", {"AIOPS_TELEMETRY_ENABLED": "0"}, False),
    "b ours, SQLite": ("aiops_site.wsgi", "sqlite", {}, True),
    "c OpenTelemetry": ("bench.perf.otel_wsgi", "sqlite", {}, False),
    "d ours, PostgreSQL": ("aiops_site.wsgi", "postgres", {}, True),
}
# --scenario queries: GET /ten-queries (bench/perf/query_urls.py), a view running
# ten SELECTs, with the middleware's query capture on and off, and OpenTelemetry's
# Django instrumentation together with its SQLite one (a span per query).
_QUERIES = {"DJANGO_SETTINGS_MODULE": "bench.perf.query_site"}
QUERIES = {
    "a plain": (
        "aiops_site.wsgi",
        "sqlite",
        {**_QUERIES, "AIOPS_TELEMETRY_ENABLED": "0"},
        False,
    ),
    "b ours, capture on": ("aiops_site.wsgi", "sqlite", _QUERIES, True),
    "c ours, capture off": (
        "aiops_site.wsgi",
        "sqlite",
        {**_QUERIES, "AIOPS_CAPTURE_QUERIES": "0"},
        True,
    ),
    "d OTel Django+SQLite": (
        "bench.perf.otel_wsgi",
        "sqlite",
        {**_QUERIES, "BENCH_OTEL_SQLITE": "1"},
        False,
    ),
}
SCENARIOS = {
    "health": ("/health", "health", HEALTH),
    "queries": ("/ten-queries", "ten-queries", QUERIES),
}
VARIANTS = HEALTH
PATH, ENDPOINT = "/health", "health"
# Longer than the writer's flush interval (0.5 s) plus a flush.
PAUSE_SECONDS = 1.0


def start(name: str, scratch: Path, extra: dict) -> tuple[Gunicorn, str]:
    app, kind, env, _ = VARIANTS[name]
    url = database_url(kind, scratch, f"aiops_bench_overhead_{name[0]}")
    return Gunicorn(app, {**env, **extra, "DATABASE_URL": url}, scratch), url


def load_slice(server: Gunicorn, seconds: int) -> dict:
    before = server.worker_cpu()
    result = wrk(f"{server.url}{PATH}", seconds=seconds)
    after = server.worker_cpu()
    for part in ("request", "other"):
        result[f"cpu_{part}_s"] = after[part] - before[part]
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=3, help="per slice")
    parser.add_argument(
        "--rate", type=int, default=1000, help="paced requests/s; 0 skips them"
    )
    parser.add_argument("--only", default="", help="variant letters, e.g. ab")
    parser.add_argument(
        "--env", action="append", default=[], help="NAME=VALUE for the app"
    )
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="health")
    args = parser.parse_args()
    global PATH, ENDPOINT, VARIANTS
    PATH, ENDPOINT, VARIANTS = SCENARIOS[args.scenario]
    extra = dict(item.split("=", 1) for item in args.env)
    chosen = [n for n in VARIANTS if not args.only or n[0] in args.only + "a"]
    slices: list[dict] = []
    totals: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="aiops-perf-") as scratch:
        servers: dict[str, tuple[Gunicorn, str]] = {}
        try:
            for name in chosen:
                servers[name] = start(name, Path(scratch), extra)
            for server, _ in servers.values():
                wrk(f"{server.url}{PATH}", seconds=2)  # warm-up
            for number in range(args.slices):
                shift = number % len(chosen)
                results = {}
                for name in chosen[shift:] + chosen[:shift]:
                    server = servers[name][0]
                    time.sleep(PAUSE_SECONDS)
                    results[name] = load_slice(server, args.seconds)
                    if args.rate:
                        time.sleep(PAUSE_SECONDS)
                        results[name]["paced"] = paced(
                            f"{server.url}{PATH}", args.seconds, args.rate
                        )
                base = results["a plain"]
                for result in results.values():
                    result["ratio"] = result["rps"] / base["rps"]
                    result["p99_added_ms"] = result["p99_ms"] - base["p99_ms"]
                    if args.rate:
                        result["paced"]["p99_added_ms"] = (
                            result["paced"]["p99_ms"] - base["paced"]["p99_ms"]
                        )
                slices.append(results)
                print(
                    f"slice {number + 1:3}: "
                    + ", ".join(
                        f"{n[0]} {r['rps']:.0f} rps p99 {r['p99_ms']:.2f}"
                        for n, r in sorted(results.items())
                    ),
                    flush=True,
                )
        finally:
            for server, _ in servers.values():
                server.stop()
        for name, (server, url) in servers.items():
            totals[name] = {
                "served": server.served(PATH),
                "spans": span_count(url, ENDPOINT),
                "locked_errors": server.errors_mentioning("database is locked"),
            }
            if url.startswith("postgres"):
                drop_database(url)
    summary = summarize(chosen, slices, totals)
    if args.rate:
        summarize_paced(chosen, slices, summary, args.rate)
    name = "overhead" if args.scenario == "health" else f"overhead_{args.scenario}"
    save_result("perf", name, {"slices": slices, "summary": summary})
    return 0


def medians(runs: list[dict], *keys: str) -> dict[str, float]:
    return {key: median(r[key] for r in runs) for key in keys}


def pooled_columns(runs: list[dict], base: Pooled) -> dict:
    """p99 of all the variant's slices pooled, and what it adds to plain's (with
    the bootstrap's 90 % interval); see latency.py."""
    ours = Pooled(runs)
    added, low, high = added_p99(ours, base)
    return {
        "pooled_p99_ms": ours.upper_quantile(0.99),
        "pooled_p99_added_ms": added,
        "pooled_p99_added_interval_ms": [low, high],
    }


def pooled_text(row: dict) -> str:
    low, high = row["pooled_p99_added_interval_ms"]
    return (
        f"{row['pooled_p99_ms']:8.2f} {row['pooled_p99_added_ms']:+6.2f} "
        f"[{low:+.2f}, {high:+.2f}]"
    )


POOLED_HEADER = f"{'pool p99':>8} {'+pool':>6} {'90% interval':>15}"


def summarize(chosen: list[str], slices: list[dict], totals: dict) -> dict:
    print(
        f"\n{'variant':20} {'req/s':>7} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'+p99':>6} {'served':>8} {'spans':>8} {'lost':>5} {'locked':>6} "
        f"{'cpu req':>7} {'cpu oth':>7} {POOLED_HEADER}"
    )
    summary = {}
    base = Pooled([s["a plain"] for s in slices])
    for name in chosen:
        runs = [s[name] for s in slices]
        requests = sum(r["requests"] for r in runs)
        row = {
            **medians(runs, "rps", "ratio", "p50_ms", "p99_ms", "p99_added_ms"),
            **pooled_columns(runs, base),
            **totals[name],
            # Over all slices (warm-up and pauses excluded).
            "cpu_request_us": sum(r["cpu_request_s"] for r in runs) / requests * 1e6,
            "cpu_other_us": sum(r["cpu_other_s"] for r in runs) / requests * 1e6,
        }
        recorded = VARIANTS[name][3]
        lost = row["served"] - row["spans"] if recorded else "-"
        summary[name] = row
        print(
            f"{name:20} {row['rps']:7.0f} {row['ratio']:6.2f} {row['p50_ms']:7.2f} "
            f"{row['p99_ms']:7.2f} {row['p99_added_ms']:+6.2f} {row['served']:8} "
            f"{row['spans']:8} {lost!s:>5} {row['locked_errors']:6} "
            f"{row['cpu_request_us']:7.0f} {row['cpu_other_us']:7.1f} "
            + pooled_text(row)
        )
    return summary


def summarize_paced(
    chosen: list[str], slices: list[dict], summary: dict, rate: int
) -> None:
    print(
        f"\npaced, {rate} requests/s offered\n{'variant':20} {'req/s':>7} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'+p99':>6} {'failed':>6} {POOLED_HEADER}"
    )
    base = Pooled([s["a plain"]["paced"] for s in slices])
    for name in chosen:
        runs = [s[name]["paced"] for s in slices]
        row = {
            **medians(runs, "rps", "p50_ms", "p99_ms", "p99_added_ms"),
            **pooled_columns(runs, base),
            "failed": sum(r["failed"] for r in runs),
        }
        summary[name]["paced"] = row
        print(
            f"{name:20} {row['rps']:7.0f} {row['p50_ms']:7.2f} {row['p99_ms']:7.2f} "
            f"{row['p99_added_ms']:+6.2f} {row['failed']:6} {pooled_text(row)}"
        )


if __name__ == "__main__":
    sys.exit(main())
