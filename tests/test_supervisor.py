"""scripts/run.py supervises what it starts: a task cluster that stalls or dies
is restarted, and the web server keeps serving meanwhile.

django-q2 leaves its task queue locked when a worker is killed while idle (its
issues #23 and #339): the cluster reincarnates the worker and then runs nothing
again, logging nothing. The supervisor notices through GET /healthz/analysis (no
cycle for AIOPS_STALL_AFTER seconds) and restarts the cluster.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import urllib3

from tests.helpers import wait_for
from tests.test_quickstart import ROOT, free_port, pid_alive

pytestmark = pytest.mark.slow


def session_alive(leader: int) -> bool:
    """Any live (not zombie) process is left in the process group ``leader``
    started (the supervisor starts each child in a session of its own)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, group = stat.read_text().split(")")[-1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(group) == leader and state != "Z":
            return True
    return False


INTERVAL = 30  # the schedule's, and django-q2's scheduler tick


def test_a_stalled_or_dead_cluster_is_restarted_and_the_web_keeps_serving(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "AIOPS_BIND": f"127.0.0.1:{port}",
        "AIOPS_DATA_DIR": str(tmp_path),
        "AIOPS_STALL_AFTER": "40",
        "AIOPS_Q_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    log_path = tmp_path / "run.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "scripts/run.py"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    http = urllib3.PoolManager(retries=False)

    def get(path: str):
        try:
            return http.request("GET", base + path, timeout=5)
        except urllib3.exceptions.HTTPError:
            return None

    def last_cycle_age() -> float | None:
        response = get("/healthz")
        if response is None or response.status != 200:
            return None
        return json.loads(response.data)["last_analysis_age_s"]

    def cycle_since(moment: float) -> bool:
        age = last_cycle_age()
        return age is not None and time.time() - age > moment

    try:
        wait_for(lambda: last_cycle_age() is not None, timeout=120)

        def idle() -> bool:
            text = log_path.read_text()
            return text.count(" processing ") == text.count(" Processed ")

        # Every task of the tick done: the workers are back waiting on the queue
        # (they get there within milliseconds of logging "Processed").
        wait_for(idle, timeout=30)
        time.sleep(1)
        # The idle workers killed between two cycles. One of them is blocked in
        # the task queue's get() holding its lock: killing just that one is
        # enough to stall django-q2, killing all of them makes sure of it.
        workers = re.findall(r"ready for work at (\d+)", log_path.read_text())
        killed_at = time.time()
        for pid in workers:
            os.kill(int(pid), signal.SIGKILL)

        served = []
        deadline = killed_at + 3 * INTERVAL + 20
        while not cycle_since(killed_at) and time.time() < deadline:
            response = get("/health")
            served.append(response is not None and response.status == 200)
            time.sleep(1)
        output = log_path.read_text()
        assert cycle_since(killed_at), output[-3000:]
        assert "restarting it" in output
        assert all(served)

        # The whole cluster killed: it is started again, the shop stays up.
        cluster = int(
            re.findall(r"Started django-q2 cluster \(pid (\d+)\)", output)[-1]
        )
        os.kill(cluster, signal.SIGKILL)
        wait_for(
            lambda: (
                len(re.findall(r"Started django-q2 cluster", log_path.read_text())) >= 3
            ),
            timeout=30,
        )
        assert get("/health").status == 200
        web = int(re.findall(r"Started web server \(pid (\d+)\)", output)[0])
        assert pid_alive(web)
        # Nothing of the killed cluster runs on: its workers went with it.
        wait_for(lambda: not session_alive(cluster), timeout=10)
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=90)
        log.close()
    assert code == 0, log_path.read_text()[-3000:]
