#!/usr/bin/env python3
"""Time to detect the README's three scenarios under the live 30-second schedule.

For each scenario: start the whole app with ``scripts/run.py`` (gunicorn + the
django-q2 cluster, a fresh SQLite database), send steady demo traffic, let it learn
for --warmup seconds, inject the fault through the simulation API, and poll
/aiops/incidents until an incident is open. Reports the time to detect, the root
cause named and how many incidents the fault produced after --observe seconds.

    .venv/bin/python bench/scenarios/readme_live.py [--warmup 75] [--observe 60]
"""

from __future__ import annotations

import argparse
import json
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

SCENARIOS = [
    ("1 payment latency +3000 ms", "/simulate/delay?endpoint=payment&duration=3000"),
    ("2 inventory errors 80%", "/simulate/error?endpoint=inventory&rate=0.8"),
    ("3 payment errors 100%", "/simulate/error?endpoint=payment&rate=1.0"),
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


def run_scenario(name: str, fault: str, warmup: float, observe: float) -> dict:
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
                    "4",
                    "--seconds",
                    str(warmup + observe + 120),
                    "--report",
                    "3600",
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
            )
            # A random phase against the 30-second schedule, so that the times
            # measured cover the lucky and the unlucky moments to inject a fault.
            time.sleep(warmup + random.uniform(0, 30))
            injected = time.time()
            call(base, fault, token, "POST")
            detected = None
            while time.time() - injected < 120:
                active = call(base, "/aiops/incidents", token)["active_incidents"]
                if active:
                    detected = time.time()
                    break
                time.sleep(0.5)
            time.sleep(observe)
            body = call(base, "/aiops/incidents", token)
            incidents = body["active_incidents"] + body["resolved_incidents"]
            first = incidents[-1] if incidents else None
            runs = call(base, "/aiops/metrics", token)
            return {
                "scenario": name,
                "detected_after_s": round(detected - injected, 1) if detected else None,
                "incidents": len(incidents),
                "root_cause": first["root_cause"]["endpoint"] if first else None,
                "confidence": first["root_cause"]["confidence"] if first else None,
                "title": first["title"] if first else None,
                "requests_last_5min": sum(
                    m["request_count"] for m in runs["metrics"].values()
                ),
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
    args = parser.parse_args()
    results = [run_scenario(n, f, args.warmup, args.observe) for n, f in SCENARIOS]
    header = ("scenario", "detect s", "incidents", "root cause", "conf")
    print("{:30} {:>8} {:>9} {:>11} {:>5}".format(*header))
    for r in results:
        print(
            f"{r['scenario']:30} {r['detected_after_s']!s:>8} {r['incidents']:>9} "
            f"{r['root_cause']!s:>11} {r['confidence']!s:>5}"
        )
    save_result("scenarios", "readme_live", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
