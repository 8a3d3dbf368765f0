#!/usr/bin/env python3
"""Healthy demo traffic that stops and starts again: nothing failed, so nothing
may open.

Runs the whole app (``scripts/run.py``: gunicorn, the django-q2 cluster and its
30-second schedule, a fresh SQLite database) and drives ``scripts/demo_traffic.py``
on and off (default: 8 minutes on, 3 off, 8 on, 3 off, 8 on, 30 minutes in all),
then lists every incident the app opened. Each one is a false incident.

    .venv/bin/python bench/scenarios/stop_restart.py [--on 480 --off 180 --rounds 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.perf.common import free_port, save_result  # noqa: E402
from bench.scenarios.readme_live import call, wait_for_health  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--on", type=float, default=480)
    parser.add_argument("--off", type=float, default=180)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rps", type=float, default=4.0)
    args = parser.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.time()
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
        try:
            wait_for_health(base)
            token = (Path(data_dir) / "admin_token").read_text().strip()
            for n in range(args.rounds):
                print(f"{time.time() - started:7.0f} s  traffic on", flush=True)
                subprocess.run(
                    [
                        sys.executable,
                        "scripts/demo_traffic.py",
                        "--base",
                        base,
                        "--rps",
                        str(args.rps),
                        "--seconds",
                        str(args.on),
                        "--report",
                        "3600",
                    ],
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    check=True,
                )
                if n < args.rounds - 1:
                    print(f"{time.time() - started:7.0f} s  traffic off", flush=True)
                    time.sleep(args.off)
            time.sleep(60)  # the last cycles see the traffic end
            body = call(base, "/aiops/incidents?limit=100", token)
            incidents = body["active_incidents"] + body["resolved_incidents"]
        finally:
            app.send_signal(signal.SIGINT)
            app.wait(timeout=60)
            log.close()
    minutes = (time.time() - started) / 60
    print(
        f"\n{minutes:.1f} minutes, {args.rounds} stretches of traffic: "
        f"{len(incidents)} incident(s)"
    )
    for incident in incidents:
        print(f"  {incident['id']}  {incident['first_detected']}  {incident['title']}")
    save_result(
        "scenarios",
        "stop_restart",
        {
            "minutes": round(minutes, 1),
            "rounds": args.rounds,
            "on_s": args.on,
            "off_s": args.off,
            "incidents": [
                {
                    "id": i["id"],
                    "title": i["title"],
                    "first_detected": i["first_detected"],
                }
                for i in incidents
            ],
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
