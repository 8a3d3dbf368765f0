#!/usr/bin/env python3
"""Replay throughput: ``manage.py replay`` on a million spans, wall clock.

    .venv/bin/python bench/perf/replay_speed.py [--spans 1000000] [--repeat 1]

The spans come from the detection-quality generator (the ``shop`` topology at 2
requests/s, OpenTelemetry-shaped traces, as many simulated hours as the count
needs) and are written to a JSONL file first; only the replay command is timed,
start-up, migrations of its throw-away database and the output file included.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.perf.common import PYTHON, ROOT, save_result  # noqa: E402
from bench.quality.generate import Generator  # noqa: E402
from bench.quality.topologies import shop  # noqa: E402


def write_spans(path: Path, count: int) -> float:
    """Write at least ``count`` spans; the simulated hours they cover."""
    generator = Generator(shop(), 3, rps=2.0)
    written, t, step = 0, 0.0, 600.0
    with path.open("w") as out:
        while written < count:
            spans = generator.traffic(t, t + step)
            t += step
            out.writelines(json.dumps(span) + "\n" for span in spans)
            written += len(spans)
    return t / 3600


def replay(path: Path, output: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    result = subprocess.run(
        [PYTHON, "manage.py", "replay", str(path), "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    summary = json.loads(result.stderr.strip().splitlines()[-1])  # the summary line
    return wall, summary


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aiops-replay-") as scratch:
        spans = Path(scratch) / "spans.jsonl"
        hours = write_spans(spans, args.spans)
        lines = sum(1 for _ in spans.open())
        runs = [
            replay(spans, Path(scratch) / "incidents.jsonl") for _ in range(args.repeat)
        ]
    walls = [wall for wall, _ in runs]
    summary = runs[-1][1]
    print(json.dumps(summary))
    print(
        f"\n{lines:,} spans ({hours:.1f} simulated hours): replay took "
        f"{statistics.median(walls):.1f} s wall clock (median of {len(walls)}; "
        f"{lines / statistics.median(walls):,.0f} spans/s)"
    )
    save_result(
        "perf",
        "replay_speed",
        {"spans": lines, "hours": hours, "walls": walls, "summary": summary},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
