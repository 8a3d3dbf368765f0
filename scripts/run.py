#!/usr/bin/env python3
"""Run the whole application: ``python3 scripts/run.py``.

Sets up .venv on first use, applies migrations, creates the staff account and the
30-second analysis schedule, then runs the web server (gunicorn) and the django-q2
cluster side by side until Ctrl-C, which stops both cleanly.
Environment: AIOPS_BIND (default 127.0.0.1:8000) and every variable of settings.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, reexec_in_venv  # noqa: E402

STOP_TIMEOUT = 20.0


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def _start(name: str, argv: list[str]) -> subprocess.Popen:
    # A session of its own: the terminal's Ctrl-C reaches only this supervisor, which
    # then stops the children in order (gunicorn flushes spans before it exits).
    process = subprocess.Popen(argv, cwd=ROOT, start_new_session=True)
    print(f"Started {name} (pid {process.pid})", flush=True)
    return process


def _stop(processes: dict[str, subprocess.Popen]) -> int:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    code = 0
    for name, process in processes.items():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop in {STOP_TIMEOUT:.0f}s; killing it", flush=True)
            process.kill()
            process.wait()
        code = code or (process.returncode or 0)
    return code


def main() -> None:
    reexec_in_venv(Path(__file__).resolve())
    bind = os.environ.get("AIOPS_BIND", "127.0.0.1:8000")
    _manage("migrate", "--noinput", "-v", "0")
    _manage("aiops_setup")

    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    processes = {
        "web": _start(
            "web server",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "aiops_site.wsgi",
                "-c",
                "gunicorn.conf.py",
                "--bind",
                bind,
            ],
        ),
        "cluster": _start(
            "django-q2 cluster", [sys.executable, "manage.py", "qcluster"]
        ),
    }
    print(
        f"\nAIOps for Django is running on http://{bind}/  (Ctrl-C stops it)\n",
        flush=True,
    )
    while not stopping:
        exited = [name for name, p in processes.items() if p.poll() is not None]
        if exited:
            print(f"{', '.join(exited)} exited; stopping the rest", flush=True)
            break
        time.sleep(0.5)
    print("Stopping ...", flush=True)
    code = _stop(processes)
    print("Stopped.", flush=True)
    sys.exit(code if not stopping else 0)


if __name__ == "__main__":
    main()
