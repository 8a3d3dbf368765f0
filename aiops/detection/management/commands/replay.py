"""``manage.py replay FILE.jsonl``: backtest detection on recorded spans."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from aiops.detection.config import DetectionConfig
from aiops.detection.replay import ReplaySummary, replay_file


class Command(BaseCommand):
    help = (
        "Replay span records (JSON lines) through the detection in simulated time, "
        "in a throw-away database, and write the incidents it opened as JSON lines."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", help="Span records, one JSON object per line ('-': stdin)."
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=30.0,
            help="Simulated seconds between cycles.",
        )
        parser.add_argument(
            "--output",
            default=None,
            help="Write incidents here (JSON lines; '-': stdout).",
        )
        parser.add_argument(
            "--database",
            default=None,
            help="Replay into this database URL (kept afterwards) instead of a "
            "throw-away SQLite file.",
        )
        # Internal: set on the child process that does the work.
        parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, file, interval, output, database, worker, **options):
        if not interval > 0:
            raise CommandError("--interval must be a positive number of seconds")
        if file != "-" and not Path(file).is_file():
            raise CommandError(f"no such file: {file}")
        if worker:
            self._work(Path(file), interval, output)
            return
        with tempfile.TemporaryDirectory(prefix="aiops-replay-") as scratch:
            url = database or f"sqlite:///{Path(scratch) / 'replay.sqlite3'}"
            env = {**os.environ, "DATABASE_URL": url, "AIOPS_DATA_DIR": scratch}
            env.pop("REDIS_URL", None)
            argv = [
                sys.executable,
                str(Path(settings.BASE_DIR) / "manage.py"),
                "replay",
                file,
                "--interval",
                repr(interval),
                "--worker",
            ]
            if output:
                argv += ["--output", output]
            # A process of its own: its settings point at the replay database, so
            # nothing it does can reach the database this command was started with.
            code = subprocess.call(argv, env=env)
        if code:
            raise CommandError(f"replay failed (exit status {code})")

    def _work(self, path: Path, interval: float, output: str | None) -> None:
        call_command("migrate", verbosity=0, skip_checks=True)
        config = DetectionConfig.from_settings(interval=interval)
        out = None
        if output == "-":
            out = sys.stdout
        elif output:
            out = open(output, "w", encoding="utf-8")
        try:
            summary = replay_file(
                path, config=config, output=out, progress=self._progress_bar()
            )
        finally:
            if out is not None and out is not sys.stdout:
                out.close()
        self._report(summary)

    def _progress_bar(self):
        if not sys.stderr.isatty():
            return None
        started = time.monotonic()
        last = [0.0]

        def show(done: int, total: int, summary: ReplaySummary) -> None:
            now = time.monotonic()
            if now - last[0] < 0.2 and done < total:
                return
            last[0] = now
            filled = int(30 * done / total)
            sys.stderr.write(
                f"\r[{'#' * filled}{' ' * (30 - filled)}] {done}/{total} cycles "
                f"{now - started:5.1f}s"
            )
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()

        return show

    def _report(self, summary: ReplaySummary) -> None:
        for bad in summary.bad_lines:
            self.stderr.write(f"line {bad.number}: {bad.reason}")
        if summary.bad_line_count > len(summary.bad_lines):
            more = summary.bad_line_count - len(summary.bad_lines)
            self.stderr.write(f"... and {more} more bad lines")
        self.stderr.write(
            json.dumps(
                {
                    "spans": summary.spans,
                    "skipped_lines": summary.bad_line_count,
                    "cycles": summary.cycles,
                    "incidents": summary.incidents,
                    "seconds": round(summary.seconds, 2),
                    "first_cycle": summary.first_cycle.isoformat()
                    if summary.first_cycle
                    else None,
                    "last_cycle": summary.last_cycle.isoformat()
                    if summary.last_cycle
                    else None,
                }
            )
        )
