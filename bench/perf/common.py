"""Helpers shared by the performance benchmarks: databases, servers, wrk."""

from __future__ import annotations

import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.perf.latency import quantiles_of

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(kind: str, scratch: Path, name: str) -> str:
    """A fresh, migrated database of that kind ("sqlite" or "postgres")."""
    if kind == "sqlite":
        # BENCH_SQLITE_DIR=/dev/shm takes the disk out of the measurement.
        path = Path(os.environ.get("BENCH_SQLITE_DIR", scratch)) / (name + ".sqlite3")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        import psycopg

        url = f"{POSTGRES}/{name}"
        drop_database(url)
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    manage("migrate", "-v", "0", env={"DATABASE_URL": url})
    return url


def drop_database(url: str) -> None:
    """Drop a PostgreSQL database made by ``database_url``."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(*args: str, env: dict | None = None, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=True,
        capture_output=capture,
        text=True,
    )
    return result.stdout if capture else ""


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


class Gunicorn:
    """gunicorn with 2 sync workers, stopped gracefully (so span queues flush)."""

    def __init__(self, app: str, env: dict, scratch: Path, workers: int = 2):
        self.port = free_port()
        self.access_log = scratch / f"access-{self.port}.log"
        self.error_log = scratch / f"error-{self.port}.log"
        self.process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                app,
                "-c",
                "gunicorn.conf.py",
                "--worker-class",
                "sync",
                "--workers",
                str(workers),
                "--threads",
                "1",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--access-logfile",
                str(self.access_log),
                "--error-logfile",
                str(self.error_log),
            ],
            cwd=ROOT,
            env={**os.environ, **env},
        )
        wait_for(f"{self.url}/health")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_cpu(self) -> dict[str, float]:
        """CPU seconds the workers used so far: their main (request) threads, and
        every other thread (our span writer, OpenTelemetry's exporter)."""
        children = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        ).stdout.split()
        used = {"request": 0.0, "other": 0.0}
        tick = os.sysconf("SC_CLK_TCK")
        for pid in children:
            for tid in os.listdir(f"/proc/{pid}/task"):
                try:
                    stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
                except FileNotFoundError:
                    continue
                fields = stat.rsplit(")", 1)[1].split()
                seconds = (int(fields[11]) + int(fields[12])) / tick
                used["request" if tid == pid else "other"] += seconds
        return used

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)

    def served(self, path: str) -> int:
        return sum(f'"GET {path} ' in line for line in self.access_log.open())

    def errors_mentioning(self, text: str) -> int:
        return sum(text in line for line in self.error_log.open())


def wrk(url: str, seconds: int = 15, connections: int = 8, threads: int = 2) -> dict:
    output = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
        + ["-s", str(ROOT / "bench" / "perf" / "quantiles.lua"), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    percentiles = {
        p: _ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.M)
    }
    quantiles = re.search(r"^quantiles_us: (.*)$", output, re.M).group(1).split()
    return {
        "rps": rps,
        "requests": total,
        "p50_ms": percentiles["50"],
        "p99_ms": percentiles["99"],
        "quantiles_ms": [float(value) / 1000.0 for value in quantiles],
    }


def paced(url: str, seconds: int, rate: int, clients: int = 8) -> dict:
    """A fixed offered rate: ``clients`` hey processes, each one request every
    ``clients / rate`` seconds, started that period / ``clients`` apart so that the
    requests arrive evenly spread (hey's own clients would all tick together).

    Under wrk's saturating loop a variant's latency is mostly queueing behind its
    own throughput; at one offered rate for all variants, latency shows what the
    instrumentation adds to a request. Needs hey (apt-get install hey).
    """
    period = clients / rate
    processes = []
    for _ in range(clients):
        processes.append(
            subprocess.Popen(
                ["hey", "-z", f"{seconds}s", "-c", "1", "-q", str(rate / clients)]
                + ["-o", "csv", url],
                stdout=subprocess.PIPE,
                text=True,
            )
        )
        time.sleep(period / clients)
    latencies: list[float] = []
    failed = 0
    for process in processes:
        output, _ = process.communicate()
        for line in output.splitlines()[1:]:
            fields = line.split(",")
            latencies.append(float(fields[0]) * 1000.0)
            failed += fields[6] != "200"
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "requests": len(latencies),
        "failed": failed,
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[int(len(latencies) * 0.99)],
        "quantiles_ms": quantiles_of(latencies),
    }


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def save_result(folder: str, name: str, data) -> None:
    """Write a benchmark's raw result to ``bench/<folder>/out/<name>.json``."""
    import json

    out = ROOT / "bench" / folder / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(data, indent=2, default=str))


def median(values) -> float:
    return statistics.median(values)


def span_count(url: str, endpoint: str | None = None) -> int:
    code = (
        "from aiops.telemetry.models import Span; "
        f"print(Span.objects.filter(endpoint={endpoint!r}).count() "
        f"if {endpoint!r} else Span.objects.count())"
    )
    output = manage("shell", "-c", code, env={"DATABASE_URL": url}, capture=True)
    return int(output.strip().splitlines()[-1])
