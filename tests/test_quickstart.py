"""The README's run command, as a user runs it: one process tree, stopped by Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import urllib3

from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it has exited all the same.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def test_run_command_serves_the_app_and_stops_cleanly_on_ctrl_c(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "AIOPS_BIND": f"127.0.0.1:{port}",
        "AIOPS_DATA_DIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    log = (tmp_path / "run.log").open("w+")
    env.pop("AIOPS_BIND")
    # The prototype's users pass a port (theirs was 5000).
    process = subprocess.Popen(
        [sys.executable, "scripts/run.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    http = urllib3.PoolManager(retries=False)

    def health_ok() -> bool:
        try:
            return http.request("GET", f"http://127.0.0.1:{port}/health").status == 200
        except urllib3.exceptions.HTTPError:
            return False

    try:
        wait_for(health_ok, timeout=120)
        token = (tmp_path / "admin_token").read_text().strip()
        assert (tmp_path / "admin_password").read_text().strip()
        status = http.request(
            "GET",
            f"http://127.0.0.1:{port}/simulate/status",
            headers={"Authorization": f"Token {token}"},
        )
        assert status.status == 200, status.data
        assert json.loads(status.data)["faults"] == []
        # The front door, and the prototype's anonymous curl from this machine.
        assert http.request("GET", f"http://127.0.0.1:{port}/").status == 200
        anonymous = http.request("GET", f"http://127.0.0.1:{port}/aiops/incidents")
        assert anonymous.status == 200, anonymous.data
        # SQLite in WAL mode, created in the data directory.
        assert (tmp_path / "db.sqlite3-wal").exists() or (
            tmp_path / "db.sqlite3"
        ).read_bytes()[18:20] == b"\x02\x02"
        # Tokens, session keys and channel secrets: readable by the owner only.
        for name in ("db.sqlite3", "admin_token", "ingest_token", "secret_key"):
            assert (tmp_path / name).stat().st_mode & 0o077 == 0, name
        log.seek(0)
        children = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", log.read())]
        assert len(children) == 2  # the web server and the django-q2 cluster
        assert all(pid_alive(pid) for pid in children)
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)

    log.seek(0)
    output = log.read()
    assert code == 0, output
    assert "Stopped." in output
    assert "Development profile: clients on this machine need no token" in output
    assert not any(pid_alive(pid) for pid in children)
