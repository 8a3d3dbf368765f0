#!/usr/bin/env python3
"""A hostile exporter offers many distinct names: what analysis and reads cost.

    .venv/bin/python bench/perf/cardinality.py [--names 10000,100000]
        [--engines sqlite,postgres]

For each engine and N: a fresh database served by gunicorn; ten minutes of the
shop topology's normal traffic exported over OTLP with an ingest key, and cycles
(``run_analysis --at``) every 30 s over it; then one client exports N SERVER spans,
each with a distinct name, in 100 made-up services (10,000 spans a request, all
with errors), and an error storm (100 more services, one endpoint each failing 8
times), and cycles run at +30 s, +60 s and +90 s. Reports each of those
cycles' duration (run_analysis's own figure), the endpoints and incidents that
resulted, and the time and size of GET /metrics, /aiops/metrics and
/aiops/incidents afterwards.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.perf.common import (  # noqa: E402
    Gunicorn,
    database_url,
    drop_database,
    manage,
    save_result,
)
from bench.perf.ingest import export_request  # noqa: E402
from bench.quality.generate import Generator  # noqa: E402
from bench.quality.topologies import shop  # noqa: E402

CHUNK = 10_000


def post(http, url: str, key: str, spans: list[dict], seed: int) -> int:
    body = export_request(spans, seed=seed).SerializeToString()
    response = http.request(
        "POST",
        f"{url}/v1/traces",
        body=body,
        headers={
            "Content-Type": "application/x-protobuf",
            "Authorization": f"Bearer {key}",
        },
        timeout=120,
    )
    return response.status


def cycle(db: str, at: float) -> dict:
    moment = datetime.fromtimestamp(at, tz=UTC).isoformat()
    out = manage("run_analysis", "--at", moment, env={"DATABASE_URL": db}, capture=True)
    return json.loads(out.strip().splitlines()[-1])


def hostile(now: float, names: int, seed: int = 9) -> list[dict]:
    """``names`` spans with distinct names in 100 services, and an error storm: 100
    more services with one endpoint each failing 8 times."""
    rng = random.Random(seed)

    def span(service: str, endpoint: str) -> dict:
        return {
            "service": service,
            "endpoint": endpoint,
            "ts": now - rng.uniform(1, 25),
            "duration_ms": 5.0,
            "status": 500,
            "trace_id": f"{rng.getrandbits(128):032x}",
            "span_id": f"{rng.getrandbits(64):016x}",
            "kind": "server",
        }

    distinct = [
        span(f"evil{n % 100}", f"GET /x/{n}-{rng.getrandbits(32):08x}")
        for n in range(names)
    ]
    storm = [span(f"storm{n}", "POST /pay") for n in range(100) for _ in range(8)]
    return distinct + storm


def read(http, url: str, path: str, token: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    response = http.request(
        "GET", url + path, headers={"Authorization": f"Token {token}"}, timeout=300
    )
    return time.perf_counter() - started, len(response.data), response.status


def run(engine: str, names: int, scratch: Path) -> dict:
    db = database_url(engine, scratch, f"aiops_bench_card_{names}")
    env = {"DATABASE_URL": db, "AIOPS_DATA_DIR": str(scratch)}
    manage("aiops_setup", env=env, capture=True)
    key = (scratch / "ingest_token").read_text().strip()
    token = (scratch / "admin_token").read_text().strip()
    server = Gunicorn("aiops_site.wsgi", env, scratch, workers=1)
    http = urllib3.PoolManager(retries=False)
    try:
        now = (time.time() // 30) * 30
        normal = Generator(shop(), 3, rps=5).traffic(now - 600, now)
        for n in range(0, len(normal), 3000):
            assert post(http, server.url, key, normal[n : n + 3000], n + 1) == 200
        for k in range(20, -1, -1):
            cycle(db, now - 30 * k)
        spans = hostile(now + 30, names)
        offered = time.perf_counter()
        statuses = [
            post(http, server.url, key, spans[n : n + CHUNK], 10_000_000 + n)
            for n in range(0, len(spans), CHUNK)
        ]
        export_s = time.perf_counter() - offered
        cycles = [cycle(db, now + 30 * k) for k in (1, 2, 3)]
        reads = {
            path: read(http, server.url, path, token)
            for path in ("/metrics", "/aiops/metrics", "/aiops/incidents")
        }
    finally:
        server.stop()
        if engine == "postgres":
            drop_database(db)
    return {
        "engine": engine,
        "names": names,
        "export_s": round(export_s, 1),
        "export_statuses": sorted(set(statuses)),
        "cycle_ms": [c["duration_ms"] for c in cycles],
        "endpoints": [c["endpoints"] for c in cycles],
        "opened": [c["opened"] for c in cycles],
        "reads": {
            path: {"seconds": round(s, 2), "bytes": size, "status": status}
            for path, (s, size, status) in reads.items()
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--names", default="10000,100000")
    parser.add_argument("--engines", default="sqlite")
    args = parser.parse_args()
    results = []
    for engine in args.engines.split(","):
        for names in (int(n) for n in args.names.split(",")):
            with tempfile.TemporaryDirectory() as scratch:
                result = run(engine, names, Path(scratch))
            print(json.dumps(result), flush=True)
            results.append(result)
    print(
        f"\n{'engine':9} {'names':>7} {'cycles (ms)':>24} {'endpoints':>18} "
        f"{'opened':>9} {'/metrics':>16} {'/aiops/metrics':>16}"
    )
    for r in results:
        metrics, api = r["reads"]["/metrics"], r["reads"]["/aiops/metrics"]
        print(
            f"{r['engine']:9} {r['names']:>7} "
            f"{' '.join(f'{c:.0f}' for c in r['cycle_ms']):>24} "
            f"{' '.join(map(str, r['endpoints'])):>18} "
            f"{' '.join(map(str, r['opened'])):>9} "
            f"{metrics['seconds']:>6.2f}s {metrics['bytes'] / 1e6:>6.1f}MB "
            f"{api['seconds']:>6.2f}s {api['bytes'] / 1e6:>6.1f}MB"
        )
    save_result("perf", "cardinality", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
