"""Backtesting: feed span records through the live analysis in simulated time.

Runs in whatever database the process uses; the ``replay`` command starts it in a
child process whose database is a throw-away one (unless told otherwise), so the
user's data is never touched. Semantics (DESIGN.md): cycles at every multiple T of
the interval from the first at or after the earliest span to the first after the
latest; a cycle at T sees every span that started at or before T.

Besides span records, a line may hold a change (``{"change": {"service",
"kind", "version", "note", "at"}}``, the body of ``POST /aiops/changes``): it is
recorded before the first cycle at or after its ``at``, as a deploy pipeline
would have recorded it.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from aiops.changes.recording import ChangeError, ChangeInput, record_change
from aiops.detection.analysis import run_analysis_cycle
from aiops.detection.api.serializers import IncidentSerializer
from aiops.detection.config import DetectionConfig
from aiops.detection.models import Incident
from aiops.telemetry.records import (
    RecordError,
    SpanRecord,
    parse_timestamp,
    record_from_json_dict,
)
from aiops.telemetry.store import insert_spans

MAX_REPORTED_ERRORS = 20


@dataclass
class BadLine:
    number: int
    reason: str


@dataclass
class ReplaySummary:
    spans: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)
    bad_line_count: int = 0
    cycles: int = 0
    incidents: int = 0
    seconds: float = 0.0
    first_cycle: datetime | None = None
    last_cycle: datetime | None = None


def _change_line(data: dict) -> ChangeInput:
    body = data["change"]
    if not isinstance(body, dict):
        raise RecordError("change must be an object")
    fields = {k: body[k] for k in ("service", "kind", "version", "note") if k in body}
    if not all(isinstance(v, str) for v in fields.values()):
        raise RecordError("change: service, kind, version and note must be strings")
    if "at" not in body:
        raise RecordError("change: at is missing")
    return ChangeInput(**fields, at=parse_timestamp(body["at"], field="change.at"))


def read_records(
    lines: Iterable[str], summary: ReplaySummary
) -> tuple[list[SpanRecord], list[ChangeInput]]:
    """Valid span records and changes of a JSON-lines stream; bad lines are
    counted and skipped."""
    records: list[SpanRecord] = []
    changes: list[ChangeInput] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if isinstance(data, dict) and "change" in data:
                changes.append(_change_line(data))
            else:
                records.append(record_from_json_dict(data))
        except json.JSONDecodeError as exc:
            _bad(summary, number, f"not valid JSON ({exc.msg})")
        except RecordError as exc:
            _bad(summary, number, str(exc))
    summary.spans = len(records)
    return records, changes


def _bad(summary: ReplaySummary, number: int, reason: str) -> None:
    summary.bad_line_count += 1
    if len(summary.bad_lines) < MAX_REPORTED_ERRORS:
        summary.bad_lines.append(BadLine(number, reason))


def cycle_times(first: float, last: float, interval: float) -> Iterator[float]:
    """Multiples of ``interval`` from the first at or after ``first`` to the first
    one after ``last``."""
    t = math.ceil(first / interval) * interval
    end = (math.floor(last / interval) + 1) * interval
    while t <= end:
        yield t
        t += interval


def replay_records(
    records: list[SpanRecord],
    *,
    config: DetectionConfig,
    summary: ReplaySummary,
    changes: list[ChangeInput] = (),
    progress: Callable[[int, int, ReplaySummary], None] | None = None,
) -> None:
    started = time.perf_counter()
    if not records:
        return
    records.sort(key=lambda r: r.start_time)
    epochs = [r.start_time.timestamp() for r in records]
    times = list(cycle_times(epochs[0], epochs[-1], config.interval))
    pending = sorted(changes, key=lambda c: c.at)
    fed = 0
    for number, t in enumerate(times, start=1):
        upto = fed
        while upto < len(records) and epochs[upto] <= t:
            upto += 1
        if upto > fed:
            insert_spans(records[fed:upto])
            fed = upto
        now = datetime.fromtimestamp(t, tz=UTC)
        while pending and pending[0].at <= now:
            try:
                record_change(pending.pop(0), source="replay", by="replay", now=now)
            except ChangeError as exc:
                _bad(summary, 0, f"change: {exc}")
        run_analysis_cycle(now=now, trigger="replay", config=config)
        summary.cycles += 1
        if progress is not None:
            progress(number, len(times), summary)
    summary.first_cycle = datetime.fromtimestamp(times[0], tz=UTC)
    summary.last_cycle = datetime.fromtimestamp(times[-1], tz=UTC)
    summary.incidents = Incident.objects.count()
    summary.seconds = time.perf_counter() - started


def write_incidents(out: IO[str]) -> int:
    """Every incident the replay opened, with its anomalies, one JSON per line."""
    incidents = Incident.objects.prefetch_related("anomalies", "events").order_by(
        "first_detected", "id"
    )
    count = 0
    for incident in incidents:
        out.write(json.dumps(IncidentSerializer(incident).data) + "\n")
        count += 1
    return count


def replay_file(
    path: Path,
    *,
    config: DetectionConfig,
    output: IO[str] | None,
    progress: Callable[[int, int, ReplaySummary], None] | None = None,
) -> ReplaySummary:
    summary = ReplaySummary()
    with sys.stdin if str(path) == "-" else open(path, encoding="utf-8") as lines:
        records, changes = read_records(lines, summary)
    replay_records(
        records, config=config, summary=summary, changes=changes, progress=progress
    )
    if output is not None:
        write_incidents(output)
    return summary
