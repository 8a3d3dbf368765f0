#!/usr/bin/env python3
"""The README's three scenarios against the whole running app, from a cold start
and from a warm one.

For each scenario and start: run the app with ``scripts/run.py`` (gunicorn + the
django-q2 cluster and its 30-second schedule, a fresh SQLite database), send
steady demo traffic, and inject the fault through the simulation API
- cold: as soon as the fault's endpoint has 20 learned requests from 20 distinct
  seconds (the first moment any detector judges it), or
- warm: after --warmup seconds plus a random phase against the schedule;
then poll /aiops/incidents until an incident is open. Reports the time to detect,
the scheduled cycle that found it counted from the first cycle that ran after 20
requests under the fault (target: that very cycle, "0"), the root cause, the
kind, the anomalies and how many incidents the fault produced after --observe
seconds.

    .venv/bin/python bench/scenarios/readme_live.py [--warmup 75] [--observe 60]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.perf.common import free_port, save_result  # noqa: E402

INTERVAL = 30.0
RPS = 4.0
CHECKOUT_SHARE = 0.9  # scripts/demo_traffic.py: the rest are GET /health
# (name, fault path, endpoint it hits, the fault's own added latency in s)
SCENARIOS = [
    (
        "1 payment latency +3000 ms",
        "/simulate/delay?endpoint=payment&duration=3000",
        "payment",
        3.0,
    ),
    (
        "2 inventory errors 80%",
        "/simulate/error?endpoint=inventory&rate=0.8",
        "inventory",
        0.0,
    ),
    (
        "3 payment errors 100%",
        "/simulate/error?endpoint=payment&rate=1.0",
        "payment",
        0.0,
    ),
]


def call(base: str, path: str, token: str, method: str = "GET") -> dict:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=b"" if method == "POST" else None,
        headers={"Authorization": f"Token {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_for_health(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the app did not start")


def learned(base: str, token: str, endpoint: str) -> int:
    rows = call(base, "/aiops/baselines", token)
    rows = rows.get("results", rows) if isinstance(rows, dict) else rows
    return max(
        (
            min(r["sample_count"], r["moment_count"])
            for r in rows
            if r["endpoint"] == endpoint
        ),
        default=0,
    )


def run_scenario(scenario, start: str, warmup: float, observe: float) -> dict:
    name, fault, endpoint, fault_latency = scenario
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "AIOPS_BIND": f"127.0.0.1:{port}",
            "AIOPS_DATA_DIR": data_dir,
        }
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        log = open(Path(data_dir) / "app.log", "w")
        app = subprocess.Popen(
            [sys.executable, "scripts/run.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        traffic = None
        try:
            wait_for_health(base)
            token = (Path(data_dir) / "admin_token").read_text().strip()
            traffic = subprocess.Popen(
                [
                    sys.executable,
                    "scripts/demo_traffic.py",
                    "--base",
                    base,
                    "--rps",
                    str(RPS),
                    "--seconds",
                    str(warmup + observe + 240),
                    "--report",
                    "3600",
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
            )
            if start == "cold":
                deadline = time.time() + 180
                while learned(base, token, endpoint) < 20 and time.time() < deadline:
                    time.sleep(0.5)
            else:
                # A random phase against the schedule: the lucky and the unlucky
                # moments to inject a fault are both measured over runs.
                time.sleep(warmup + random.uniform(0, INTERVAL))
            injected = time.time()
            call(base, fault, token, "POST")
            # The first scheduled cycle after 20 requests under the fault ended.
            twenty = injected + 20 / (RPS * CHECKOUT_SHARE) + fault_latency
            due = math.ceil(twenty / INTERVAL) * INTERVAL
            detected = None
            while time.time() - injected < 150:
                if call(base, "/aiops/incidents", token)["active_incidents"]:
                    detected = time.time()
                    break
                time.sleep(0.5)
            time.sleep(observe)
            body = call(base, "/aiops/incidents", token)
            incidents = body["active_incidents"] + body["resolved_incidents"]
            first = min(incidents, key=lambda i: i["first_detected"], default=None)
            # Cycles end within a few seconds of their start; 5 s of slack.
            cycles_late = (
                max(0, math.ceil((detected - due - 5) / INTERVAL)) if detected else None
            )
            return {
                "scenario": name,
                "start": start,
                "detected_after_s": round(detected - injected, 1) if detected else None,
                "cycles_after_20_requests": cycles_late,
                "incidents": len(incidents),
                "root_cause": first["root_cause"]["endpoint"] if first else None,
                "kind": first["kind"] if first else None,
                "confidence": first["root_cause"]["confidence"] if first else None,
                "title": first["title"] if first else None,
                "anomalies": sorted(
                    {f"{a['endpoint']} {a['type']}" for a in first["anomalies"]}
                )
                if first
                else [],
            }
        finally:
            if traffic is not None:
                traffic.kill()
                traffic.wait()
            app.send_signal(signal.SIGINT)
            app.wait(timeout=60)
            log.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warmup", type=float, default=75)
    parser.add_argument("--observe", type=float, default=60)
    parser.add_argument("--starts", default="cold,warm")
    args = parser.parse_args()
    results = [
        run_scenario(s, start, args.warmup, args.observe)
        for start in args.starts.split(",")
        for s in SCENARIOS
    ]
    header = ("scenario", "start", "detect s", "cycle", "incidents", "root", "kind")
    print("{:28} {:>5} {:>8} {:>5} {:>9} {:>9} {:>8}".format(*header))
    for r in results:
        print(
            f"{r['scenario']:28} {r['start']:>5} {r['detected_after_s']!s:>8} "
            f"{r['cycles_after_20_requests']!s:>5} {r['incidents']:>9} "
            f"{r['root_cause']!s:>9} {r['kind']!s:>8}"
        )
        print(f"    {', '.join(r['anomalies'])}")
    save_result("scenarios", "readme_live", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
