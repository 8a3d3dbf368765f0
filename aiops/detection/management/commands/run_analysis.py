from __future__ import annotations

import json
import signal
import threading
import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils import timezone

from aiops.detection.analysis import run_analysis_cycle
from aiops.detection.config import DetectionConfig
from aiops.telemetry.records import RecordError, parse_timestamp


class Command(BaseCommand):
    help = "Run one analysis cycle now, or keep running one every --interval seconds."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Run until stopped.")
        parser.add_argument(
            "--interval", type=float, default=None, help="Seconds between cycles."
        )
        parser.add_argument(
            "--at",
            default=None,
            help="Analyse as of this ISO 8601 time instead of now (e.g. after "
            "backfilling spans); one cycle only.",
        )

    def handle(
        self, *args, loop: bool, interval: float | None, at: str | None, **options
    ):
        config = DetectionConfig.from_settings()
        if at is not None:
            if loop:
                raise CommandError(
                    "--at runs one cycle; it cannot be combined with --loop"
                )
            try:
                moment = parse_timestamp(at, field="--at")
            except RecordError as exc:
                raise CommandError(str(exc)) from None
            self._cycle(config, now=moment)
            return
        if interval is not None:
            if not interval > 0:
                raise CommandError("--interval must be a positive number of seconds")
            config = DetectionConfig.from_settings(interval=interval)
        if not loop:
            self._cycle(config, now=timezone.now())
            return
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"Running a cycle every {config.interval:g}s; Ctrl-C stops.")
        while not stop.is_set():
            close_old_connections()  # survive a database restart between cycles
            try:
                self._cycle(config, now=timezone.now())
            except Exception as exc:  # noqa: BLE001 - keep looping, say why
                self.stderr.write(f"cycle failed: {type(exc).__name__}: {exc}")
            # Sleep to the next multiple of the interval, like the CRON schedule.
            stop.wait(config.interval - time.time() % config.interval)
        self.stdout.write("Stopped.")

    def _cycle(self, config: DetectionConfig, *, now: datetime) -> None:
        report = run_analysis_cycle(now=now, trigger="command", config=config)
        self.stdout.write(json.dumps(report.as_dict()))
