#!/usr/bin/env python3
"""OTLP/HTTP ingest throughput: spans stored per second by one worker process.

    .venv/bin/python bench/perf/ingest.py [--seconds 15] [--batch 512]
        [--engines sqlite,postgres]

gunicorn with 1 sync worker; 2 client threads POST pre-built exports (batches of
--batch spans from the synthetic shop topology, as an SDK's BatchSpanProcessor
sends them) for --seconds, protobuf then JSON. Reports new spans stored per second
(distinct spans stored, counted in the database afterwards; every export is sent
once) and requests/s.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import urllib3
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.perf.common import (  # noqa: E402
    Gunicorn,
    database_url,
    manage,
    save_result,
    span_count,
)
from bench.quality.generate import Generator  # noqa: E402
from bench.quality.scenarios import START  # noqa: E402
from bench.quality.topologies import shop  # noqa: E402

KINDS = {"server": 2, "client": 3}


def export_request(spans: list[dict], seed: int) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    by_service: dict[str, list[dict]] = {}
    for span in spans:
        by_service.setdefault(span["service"], []).append(span)
    for service, items in by_service.items():
        resource_spans = request.resource_spans.add()
        attribute = resource_spans.resource.attributes.add()
        attribute.key, attribute.value.string_value = "service.name", service
        scope = resource_spans.scope_spans.add()
        for item in items:
            span = scope.spans.add()
            span.trace_id = bytes.fromhex(item["trace_id"])
            # Fresh span ids per batch, so that every export stores new rows.
            span.span_id = (int(item["span_id"], 16) ^ seed).to_bytes(8, "big")
            span.kind = KINDS.get(item.get("kind", "server"), 1)
            span.name = item["endpoint"]
            span.start_time_unix_nano = int(item["ts"] * 1e9)
            span.end_time_unix_nano = span.start_time_unix_nano + int(
                item["duration_ms"] * 1e6
            )
            for key, value in (
                ("http.route", item["endpoint"]),
                ("http.request.method", "GET"),
            ):
                attr = span.attributes.add()
                attr.key, attr.value.string_value = key, value
            if item.get("status") is not None:
                attr = span.attributes.add()
                attr.key, attr.value.int_value = (
                    "http.response.status_code",
                    item["status"],
                )
    return request


def payloads(batch: int, count: int, kind: str) -> list[bytes]:
    from google.protobuf import json_format

    spans = Generator(shop(), 5, rps=5).traffic(START, START + 3600)
    result = []
    for n in range(count):
        chunk = spans[(n * batch) % (len(spans) - batch) :][:batch]
        message = export_request(chunk, seed=n + 1)
        if kind == "protobuf":
            result.append(message.SerializeToString())
        else:
            document = json_format.MessageToDict(message)
            for rs in document["resourceSpans"]:
                for scope in rs["scopeSpans"]:
                    for span in scope["spans"]:
                        for name in ("traceId", "spanId"):
                            span[name] = base64.b64decode(span[name]).hex()
            result.append(json.dumps(document).encode())
    return result


# Enough distinct exports that none is sent twice in a 15 s run: a re-delivery only
# costs a conflict check, and would flatter the figure.
BODIES = {"protobuf": 2400, "json": 800}


def run(kind: str, engine: str, seconds: int, batch: int, scratch: Path) -> dict:
    bodies = payloads(batch, BODIES[kind], kind)
    url = database_url(engine, scratch, "aiops_bench_ingest")
    key = manage(
        "ingest_token", "create", "bench", env={"DATABASE_URL": url}, capture=True
    ).strip()
    server = Gunicorn("aiops_site.wsgi", {"DATABASE_URL": url}, scratch, workers=1)
    content_type = (
        "application/x-protobuf" if kind == "protobuf" else "application/json"
    )
    sent = [0]
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        http = urllib3.PoolManager(retries=False)
        n = offset
        while time.monotonic() < deadline:
            body = bodies[n % len(bodies)]
            n += 2
            response = http.request(
                "POST",
                f"{server.url}/v1/traces",
                body=body,
                headers={
                    "Content-Type": content_type,
                    "Authorization": f"Bearer {key}",
                },
                timeout=30,
            )
            with lock:
                if response.status == 200:
                    sent[0] += 1
                else:
                    errors[0] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    server.stop()
    stored = span_count(url)
    return {
        "kind": kind,
        "engine": engine,
        "requests": sent[0],
        "errors": errors[0],
        "spans_stored": stored,
        # New spans only; any body sent twice is reported as re-sent.
        "spans_per_s": round(stored / elapsed),
        "bodies_resent": max(0, sent[0] - len(bodies)),
        "requests_per_s": round(sent[0] / elapsed, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--engines", default="sqlite,postgres")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="aiops-ingest-") as scratch:
        for engine in args.engines.split(","):
            for kind in ("protobuf", "json"):
                results.append(
                    run(kind, engine, args.seconds, args.batch, Path(scratch))
                )
                print(json.dumps(results[-1]), flush=True)
    print(
        f"\n{'engine':9} {'format':9} {'spans/s':>8} {'req/s':>6} {'errors':>6} "
        f"{'re-sent':>7}"
    )
    for r in results:
        print(
            f"{r['engine']:9} {r['kind']:9} {r['spans_per_s']:8} "
            f"{r['requests_per_s']:6} {r['errors']:6} {r['bodies_resent']:7}"
        )
    save_result("perf", "ingest", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
