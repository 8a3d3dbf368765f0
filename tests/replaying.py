"""``manage.py replay`` of span lines in a child process, as a user runs it:
the incidents it wrote, as dicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def replay_lines(
    tmp_path: Path,
    lines: list[str],
    *,
    interval: float | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> list[dict]:
    spans, out = tmp_path / "spans.jsonl", tmp_path / "incidents.jsonl"
    spans.write_text("\n".join(lines) + "\n")
    command = [sys.executable, "manage.py", "replay", str(spans), "--output", str(out)]
    if interval is not None:
        command += ["--interval", str(interval)]
    result = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in out.read_text().splitlines()]
