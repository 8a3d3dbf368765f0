#!/usr/bin/env python3
"""Soak test: the whole app under mixed traffic with faults, for a bounded time.

    .venv/bin/python bench/soak.py [--minutes 10] [--engines sqlite,postgres]

Runs ``scripts/run.py`` (gunicorn + the django-q2 cluster with its 30-second
schedule; PostgreSQL with Redis for the second engine) and, for --minutes, sends
mixed traffic to 127.0.0.1: demo checkouts, health checks, a scanner's unknown
URLs, and OTLP exports from a synthetic service. Three faults are injected through
the simulation API at fixed times. Reports requests served vs spans stored
(nothing may be lost), for each fault the incident that found it and how fast (a
fault on an endpoint whose incident resolved minutes ago reopens that incident, by
design), the incidents, and the memory (RSS) of every process of the app at the
start and at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.perf.common import POSTGRES, free_port, manage, save_result  # noqa: E402
from bench.perf.ingest import export_request  # noqa: E402
from bench.quality.generate import Generator  # noqa: E402
from bench.quality.topologies import bank  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# (minute, simulation call, the fault: (name, endpoint, anomaly type that finds it))
FAULTS = [
    (
        2.0,
        "/simulate/delay?endpoint=payment&duration=2000",
        ("payment latency", "payment", "latency_anomaly"),
    ),
    (4.0, "/simulate/clear", None),
    (
        5.0,
        "/simulate/error?endpoint=inventory&rate=0.8",
        ("inventory errors", "inventory", "error_spike"),
    ),
    (7.0, "/simulate/clear", None),
    (
        8.0,
        "/simulate/error?endpoint=payment&rate=1.0",
        ("payment errors", "payment", "error_spike"),
    ),
    (9.0, "/simulate/clear", None),
]
SCANNER = ["/wp-login.php", "/.env", "/xmlrpc.php", "/admin.php", "/.git/config"]
# Paths the app serves without recording a span (AIOPS_TELEMETRY_EXCLUDE_PATHS).
NOT_RECORDED = (
    "/admin/",
    "/static/",
    "/aiops/",
    "/simulate/",
    "/v1/",
    "/metrics",
    "/healthz",  # the supervisor's polls (scripts/run.py)
)
REQUEST_PATH = re.compile(r'"[A-Z]+ (\S+) HTTP/')


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def tree(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int(
                    Path(f"/proc/{entry.name}/stat")
                    .read_text()
                    .split(")")[-1]
                    .split()[1]
                )
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                children.append(int(entry.name))
    return [pid] + [p for child in children for p in tree(child)]


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:80]
    except OSError:
        return "?"


def server_spans(url: str, service: str) -> int:
    """SERVER spans the app stored for ``service`` (its own requests, not calls)."""
    code = (
        "from aiops.telemetry.models import Span; "
        f"print(Span.objects.filter(service={service!r}, kind='server').count())"
    )
    output = manage("shell", "-c", code, env={"DATABASE_URL": url}, capture=True)
    return int(output.strip().splitlines()[-1])


def recorded_requests(access_log: Path) -> int:
    """Requests gunicorn served on paths the telemetry middleware records."""
    served = 0
    for line in access_log.open():
        match = REQUEST_PATH.search(line)
        if match and not match.group(1).startswith(NOT_RECORDED):
            served += 1
    return served


def call(url: str, method: str = "GET", body: bytes | None = None, headers=None) -> int:
    request = urllib.request.Request(
        url, data=body, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def _otlp_counters(base: str, auth: dict) -> dict:
    request = urllib.request.Request(f"{base}/metrics", headers=auth)
    text = urllib.request.urlopen(request, timeout=30).read().decode()
    wanted = ("aiops_otlp_spans_rejected_total", "aiops_otlp_spans_overflowed_total")
    return {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith(wanted)
    }


def soak(engine: str, minutes: float, hostile_on: bool = True) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    scratch = Path(tempfile.mkdtemp(prefix="aiops-soak-"))
    env = {
        **os.environ,
        "AIOPS_BIND": f"127.0.0.1:{port}",
        "AIOPS_DATA_DIR": str(scratch),
        "AIOPS_ACCESS_LOG": str(scratch / "access.log"),
        "AIOPS_THROTTLE_OTLP": "100000/min",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    if engine == "postgres":
        import psycopg

        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "aiops_soak" WITH (FORCE)')
            conn.execute('CREATE DATABASE "aiops_soak"')
        env["DATABASE_URL"] = f"{POSTGRES}/aiops_soak"
        env["REDIS_URL"] = "redis://127.0.0.1:6379/14"
    url = env.get("DATABASE_URL", f"sqlite:///{scratch / 'db.sqlite3'}")
    log = open(scratch / "app.log", "w")
    app = subprocess.Popen(
        [sys.executable, "scripts/run.py"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 120
    while call(f"{base}/health") != 200:
        if time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.5)
    token = (scratch / "admin_token").read_text().strip()
    ingest_key = (scratch / "ingest_token").read_text().strip()
    auth = {"Authorization": f"Token {token}"}
    time.sleep(5)
    pids = tree(app.pid)
    # Names now: by the end the processes have stopped and /proc forgets them.
    names = {pid: command_line(pid) for pid in pids}
    memory_start = {pid: rss_mb(pid) for pid in pids}

    stop = threading.Event()
    counts = {"checkout": 0, "health": 0, "scanner": 0, "otlp_spans": 0, "errors": 0}
    lock = threading.Lock()
    rng = random.Random(1)
    generator = Generator(bank(), 9, rps=2.0)

    def users():
        while not stop.is_set():
            status = call(f"{base}/checkout", "POST", b"")
            with lock:
                counts["checkout"] += 1
                counts["errors"] += status == 0
            time.sleep(rng.expovariate(3.0))

    def monitors():
        while not stop.is_set():
            call(f"{base}/health")
            with lock:
                counts["health"] += 1
            if rng.random() < 0.1:
                call(f"{base}{rng.choice(SCANNER)}")
                with lock:
                    counts["scanner"] += 1
            time.sleep(0.2)

    def exporter():
        t = time.time()
        while not stop.is_set():
            now = time.time()
            spans = generator.traffic(t, now)
            t = now
            if spans:
                body = export_request(spans, seed=int(now)).SerializeToString()
                status = call(
                    f"{base}/v1/traces",
                    "POST",
                    body,
                    {
                        "Content-Type": "application/x-protobuf",
                        "Authorization": f"Bearer {ingest_key}",
                    },
                )
                with lock:
                    counts["otlp_spans"] += len(spans) if status == 200 else 0
            stop.wait(2.0)

    evil_key = manage(
        "ingest_token", "create", "compromised", env=env, capture=True
    ).strip()
    hostile_rng = random.Random(66)

    def hostile_span(service: str, endpoint: str, ts: float, status: int) -> dict:
        return {
            "service": service,
            "endpoint": endpoint,
            "ts": ts,
            "duration_ms": 3.0,
            "status": status,
            "trace_id": f"{hostile_rng.getrandbits(128):032x}",
            "span_id": f"{hostile_rng.getrandbits(64):016x}",
            "kind": "server",
        }

    def hostile():
        """A compromised key (and anonymous clients) doing what the security
        review did: a flood of made-up names, an error storm in made-up services
        (once, at minute 1), forged shop spans, spans from the future, anonymous
        exports behind a new X-Forwarded-For each time."""
        n = 0
        stormed = False
        while not stop.is_set():
            now = time.time()
            spans = [
                hostile_span("evil", f"GET /u/{n}-{k}", now - 1, 200)
                for k in range(2000)
            ]
            spans += [hostile_span("shop", "payment", now - 1, 500) for _ in range(50)]
            spans += [hostile_span("evil", "GET /x", now + 120, 500) for _ in range(50)]
            if not stormed and time.monotonic() - started > 60:
                stormed = True
                spans += [
                    hostile_span(f"ghost{g}", "POST /pay", now - 1, 500)
                    for g in range(40)
                    for _ in range(10)
                ]
            body = export_request(spans, seed=n + 77).SerializeToString()
            headers = {"Content-Type": "application/x-protobuf"}
            status = call(
                f"{base}/v1/traces",
                "POST",
                body,
                headers | {"Authorization": f"Bearer {evil_key}"},
            )
            anonymous = call(
                f"{base}/v1/traces",
                "POST",
                body,
                headers | {"X-Forwarded-For": f"10.9.{n % 250}.{n % 7}"},
            )
            with lock:
                counts[f"hostile_{status}"] = counts.get(f"hostile_{status}", 0) + 1
                counts[f"anonymous_{anonymous}"] = (
                    counts.get(f"anonymous_{anonymous}", 0) + 1
                )
            n += 1
            stop.wait(2.0)

    workers = [users, users, users, monitors, exporter] + (
        [hostile] if hostile_on else []
    )
    threads = [threading.Thread(target=f, daemon=True) for f in workers]
    started = time.monotonic()
    for thread in threads:
        thread.start()

    def read(path: str) -> dict:
        request = urllib.request.Request(f"{base}{path}", headers=auth)
        return json.loads(urllib.request.urlopen(request, timeout=30).read())

    def detected(fault: dict) -> None:
        """Note the first cycle that saw the fault: an anomaly of its kind on its
        endpoint seen since it started, in a new incident or in one it reopened (a
        recurrence within AIOPS_REOPEN_WINDOW of the last one's resolution)."""
        query = f"service=shop&endpoint={fault['endpoint']}&type={fault['kind']}"
        for anomaly in read(f"/aiops/anomalies?{query}&limit=50")["results"]:
            seen = datetime.fromisoformat(anomaly["last_seen"])
            if seen >= fault["at"] and fault["incident"] is None:
                fault["incident"] = anomaly["incident"]
                fault["seconds_to_detect"] = round(
                    (seen - fault["at"]).total_seconds(), 1
                )

    pending = list(FAULTS)
    faults: list[dict] = []
    while time.monotonic() - started < minutes * 60:
        elapsed = (time.monotonic() - started) / 60
        while pending and pending[0][0] <= elapsed:
            _, path, fault = pending.pop(0)
            at = datetime.now(UTC)
            call(f"{base}{path}", "POST", b"", auth)
            if fault:
                name, endpoint, kind = fault
                faults.append(
                    {"fault": name, "endpoint": endpoint, "kind": kind, "at": at}
                    | {"incident": None, "seconds_to_detect": None}
                )
        for fault in faults:
            if fault["incident"] is None:
                detected(fault)
        time.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    time.sleep(35)  # one more analysis cycle sees the last spans
    for fault in faults:
        if fault["incident"] is None:
            detected(fault)
        fault["injected"] = fault.pop("at").isoformat()

    incidents = read("/aiops/incidents?limit=100&active_limit=500")
    otlp_counters = _otlp_counters(base, auth)
    memory_end = {pid: rss_mb(pid) for pid in tree(app.pid)}
    app.send_signal(signal.SIGINT)
    app.wait(timeout=120)
    log.close()

    served = recorded_requests(scratch / "access.log")
    opened = incidents["active_incidents"] + incidents["resolved_incidents"]
    processes = [
        {
            "pid": pid,
            "process": names[pid],
            "rss_start_mb": round(start or 0, 1),
            "rss_end_mb": round(memory_end.get(pid) or 0, 1),
        }
        for pid, start in memory_start.items()
    ]
    shop_spans = server_spans(url, "shop")
    return {
        "engine": engine,
        "minutes": minutes,
        "requests_sent": {**counts},
        "requests_served": served,
        "shop_and_scanner_spans_stored": shop_spans,
        "otlp_spans_accepted": counts["otlp_spans"],
        "overflowed_and_rejected": otlp_counters,
        "faults": faults,
        "incidents": [
            {
                "id": i["id"],
                "reopened": i["reopen_count"],
                "title": i["title"],
                "root": f"{i['root_cause']['service']}/{i['root_cause']['endpoint']}",
                "first_detected": i["first_detected"],
            }
            for i in opened
        ],
        "processes": processes,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument(
        "--no-hostile", action="store_true", help="Leave out the hostile client."
    )
    args = parser.parse_args()
    results = [
        soak(engine, args.minutes, hostile_on=not args.no_hostile)
        for engine in args.engines.split(",")
    ]
    for r in results:
        print(f"\n== {r['engine']}, {r['minutes']} minutes ==")
        print(
            f"requests served {r['requests_served']}, spans stored "
            f"{r['shop_and_scanner_spans_stored']} (lost: "
            f"{r['requests_served'] - r['shop_and_scanner_spans_stored']}), "
            f"OTLP spans accepted {r['otlp_spans_accepted']}"
        )
        hostile = {
            k: v
            for k, v in r["requests_sent"].items()
            if k.startswith(("hostile_", "anonymous_"))
        }
        if hostile:
            print(f"hostile exports by answer: {hostile}")
            print(f"  {r['overflowed_and_rejected']}")
        print(f"faults injected {len(r['faults'])}:")
        for f in r["faults"]:
            found = (
                f"found in {f['seconds_to_detect']} s by {f['incident']}"
                if f["incident"]
                else "NOT FOUND"
            )
            print(f"  {f['injected'][11:19]}  {f['fault']:18} {found}")
        print(f"incidents {len(r['incidents'])}:")
        for incident in r["incidents"]:
            when, root = incident["first_detected"][11:19], incident["root"]
            print(
                f"  {incident['id']:18} opened {when}, reopened "
                f"{incident['reopened']}x  {root:16} {incident['title'][:60]}"
            )
        for p in r["processes"]:
            memory = f"{p['rss_start_mb']:7.1f} -> {p['rss_end_mb']:7.1f} MB"
            print(f"  pid {p['pid']:>7} {memory}  {p['process']}")
    save_result("", "soak", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
