#!/usr/bin/env python3
"""Run the whole application: ``python3 scripts/run.py``.

Sets up .venv on first use, applies migrations, creates the staff account, the
ingest token and the 30-second analysis schedule, then runs the web server
(gunicorn) and the django-q2 cluster side by side until Ctrl-C, which stops both
cleanly. It supervises them: a process that exits is started again (the web
server keeps serving while the cluster restarts, and the other way round), and a
cluster that stops running analysis cycles without exiting (a killed worker can
leave django-q2's task queue locked, its issues #23 and #339) is restarted when
``GET /healthz/analysis`` says no cycle ran for ``AIOPS_STALL_AFTER`` seconds.
Environment: AIOPS_BIND (default 127.0.0.1:8000) and every variable of settings.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, reexec_in_venv  # noqa: E402

STOP_TIMEOUT = 20.0
CHECK_EVERY = 10.0
# More restarts than this within RESTART_WINDOW seconds: something is broken for
# good (a port taken, a bad setting); stop instead of looping.
MAX_RESTARTS = 5
RESTART_WINDOW = 300.0


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def _local_url(bind: str) -> str:
    host, _, port = bind.rpartition(":")
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host in ("[::]", "::"):
        host = "[::1]"
    return f"http://{host}:{port}"


class Child:
    """One supervised process: its command, and when it was (re)started."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name, self.argv = name, argv
        self.process: subprocess.Popen | None = None
        self.started = 0.0
        self.restarts: list[float] = []

    def start(self) -> None:
        # A session of its own: the terminal's Ctrl-C reaches only this
        # supervisor, which then stops the children in order (gunicorn flushes
        # spans before it exits).
        self.process = subprocess.Popen(self.argv, cwd=ROOT, start_new_session=True)
        self.started = time.monotonic()
        print(f"Started {self.name} (pid {self.process.pid})", flush=True)

    def restart(self, reason: str) -> bool:
        """Stop (if running) and start again; False when restarting too often."""
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < RESTART_WINDOW] + [now]
        if len(self.restarts) > MAX_RESTARTS:
            print(
                f"{self.name} restarted {MAX_RESTARTS} times in "
                f"{RESTART_WINDOW:.0f}s; giving up",
                flush=True,
            )
            return False
        print(f"{self.name}: {reason}; restarting it", flush=True)
        _stop([self])
        self.start()
        return True

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None


def _stop(children: list[Child]) -> int:
    running = [c.process for c in children if c.process is not None]
    for process in running:
        if process.poll() is None:
            # The leader stops its own workers in order (gunicorn flushes spans).
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    code = 0
    for child in children:
        process = child.process
        if process is None:
            continue
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{child.name} did not stop in {STOP_TIMEOUT:.0f}s; killing it")
            _kill_session(process.pid)
            process.wait()
        # Whatever the leader left behind: a leader that was killed (or crashed)
        # cannot stop its workers, which would otherwise run on as orphans.
        _kill_session(process.pid)
        code = code or (process.returncode or 0)
    return code


def _kill_session(leader: int) -> None:
    """SIGKILL every process left in the session ``leader`` started."""
    try:
        os.killpg(leader, signal.SIGKILL)
    except ProcessLookupError:
        pass


def analysis_stalled(base: str) -> str | None:
    """Why the analysis is stalled, per the web server; None if it is not (or the
    web server cannot say: a web server that is down is restarted on its own)."""
    try:
        with urllib.request.urlopen(f"{base}/healthz/analysis", timeout=5):
            return None
    except urllib.error.HTTPError as exc:
        if exc.code != 503:
            return None
        try:
            body = json.loads(exc.read() or b"{}")
        except ValueError:
            return None
        if body.get("status") == "stalled":
            return (
                f"no analysis cycle for {body.get('last_analysis_age_s')}s "
                f"(limit {body.get('stall_after_s')}s)"
            )
        if body.get("status") == "no analysis cycle yet":
            return f"no analysis cycle yet (limit {body.get('stall_after_s')}s)"
        return None
    except (OSError, ValueError):
        return None


def stall_after() -> float:
    interval = float(os.environ.get("AIOPS_INTERVAL", "30"))
    return float(os.environ.get("AIOPS_STALL_AFTER", 3 * interval + 15))


def _arguments() -> None:
    """``--port N`` (the Flask prototype served on 5000) and ``--bind HOST:PORT``
    set AIOPS_BIND for everything this starts."""
    import argparse

    parser = argparse.ArgumentParser(description="Run the whole application.")
    parser.add_argument("--port", type=int, help="Serve on 127.0.0.1:PORT.")
    parser.add_argument("--bind", help="Serve on HOST:PORT (default 127.0.0.1:8000).")
    args = parser.parse_args()
    if args.port is not None and args.bind:
        parser.error("give --port or --bind, not both")
    if args.port is not None:
        if not 1 <= args.port <= 65535:
            parser.error("--port must be 1-65535")
        os.environ["AIOPS_BIND"] = f"127.0.0.1:{args.port}"
    elif args.bind:
        os.environ["AIOPS_BIND"] = args.bind


def _development_note(base: str) -> str:
    production = os.environ.get("AIOPS_ENV", "development") == "production"
    opened = os.environ.get("AIOPS_DEV_OPEN_LOOPBACK", "1").lower() in (
        "1",
        "true",
        "yes",
        "on",
    )
    if production or not opened:
        return ""
    return (
        "Development profile: clients on this machine need no token to read\n"
        "metrics and incidents, inject faults, run analysis and resolve incidents\n"
        "(the Flask prototype's curl walk-through works as is, e.g.\n"
        f"  curl {base}/aiops/incidents). Anyone else needs a token;\n"
        "AIOPS_DEV_OPEN_LOOPBACK=0 closes it, AIOPS_ENV=production never has it.\n"
    )


def main() -> None:
    _arguments()
    reexec_in_venv(Path(__file__).resolve())
    bind = os.environ.get("AIOPS_BIND", "127.0.0.1:8000")
    base = _local_url(bind)
    _manage("migrate", "--noinput", "-v", "0")
    _manage("aiops_setup")

    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    web = Child(
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
    )
    cluster = Child("django-q2 cluster", [sys.executable, "manage.py", "qcluster"])
    web.start()
    cluster.start()
    print(f"\nAIOps for Django is running on {base}/  (Ctrl-C stops it)\n", flush=True)
    if note := _development_note(base):
        print(note, flush=True)
    grace = stall_after()
    next_check = time.monotonic() + CHECK_EVERY
    healthy = True
    while not stopping and healthy:
        for child in (web, cluster):
            if child.exited and not stopping:
                code = child.process.returncode
                healthy = child.restart(f"exited with code {code}") and healthy
        now = time.monotonic()
        if healthy and now >= next_check:
            next_check = now + CHECK_EVERY
            # After a (re)start the cluster gets the whole allowance to run a cycle.
            if now - cluster.started > grace:
                reason = analysis_stalled(base)
                if reason is not None:
                    healthy = cluster.restart(reason)
        time.sleep(0.5)
    print("Stopping ...", flush=True)
    code = _stop([web, cluster])
    print("Stopped.", flush=True)
    sys.exit(0 if stopping else (code or 1))


if __name__ == "__main__":
    main()
