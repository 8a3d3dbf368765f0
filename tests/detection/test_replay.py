"""``manage.py replay`` and ``export_spans``, as a user runs them."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from aiops.detection.models import Incident
from aiops.telemetry.models import Span
from tests.detection.traffic import T0, Fault, shop_traffic, store

ROOT = Path(__file__).resolve().parents[2]
FAULT_AT = T0 + 600


def scenario_lines(seed: int = 1) -> list[str]:
    spans = (
        shop_traffic(T0, 600, seed=seed)
        + shop_traffic(FAULT_AT, 120, fault=Fault(payment_delay_ms=3000), seed=seed + 1)
        + shop_traffic(FAULT_AT + 120, 300, seed=seed + 2)
    )
    return [json.dumps(span.to_json_dict()) for span in spans]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def replay(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "replay", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def incidents(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.django_db
def test_replay_writes_the_incidents_it_opened_in_simulated_time(tmp_path):
    spans = write(tmp_path / "spans.jsonl", scenario_lines())
    out = tmp_path / "incidents.jsonl"

    result = replay(str(spans), "--output", str(out))

    assert result.returncode == 0, result.stderr
    [incident] = incidents(out)
    assert incident["root_cause"]["endpoint"] == "payment"
    assert incident["status"] == "resolved"  # the fault ended and it healed
    first = incident["first_detected"]
    assert first.startswith("2026-01-20T10:10:30") or first.startswith(
        "2026-01-20T10:11:00"
    )
    assert incident["last_seen"] > first
    assert {a["endpoint"] for a in incident["anomalies"]} == {"payment", "checkout"}
    summary = json.loads(result.stderr.strip().splitlines()[-1])
    assert summary["skipped_lines"] == 0
    # From the first multiple of 30 s at or after the first span (10:00:00.x) to
    # the first after the last one (10:16:59.x), every 30 s.
    assert summary["first_cycle"] == "2026-01-20T10:00:30+00:00"
    assert summary["last_cycle"] == "2026-01-20T10:17:00+00:00"
    assert summary["cycles"] == 34
    # Nothing reached the database of the process that started the replay.
    assert Span.objects.count() == 0 and Incident.objects.count() == 0


@pytest.mark.django_db
def test_bad_lines_are_reported_and_skipped(tmp_path):
    lines = scenario_lines()
    bad = {
        3: "{not json",
        10: json.dumps({"ts": "yesterday", "endpoint": "a", "duration_ms": 1}),
        20: json.dumps({"ts": T0, "endpoint": "a", "duration_ms": -5}),
        30: json.dumps({"ts": T0, "endpoint": "a", "duration_ms": "slow"}),
        40: json.dumps({"ts": T0, "endpoint": "a", "duration_ms": 5, "status": "200"}),
        50: json.dumps({"ts": T0, "endpoint": "a", "duration_ms": 5, "status": 200.5}),
    }
    for number, text in bad.items():
        lines.insert(number - 1, text)
    out = tmp_path / "incidents.jsonl"

    result = replay(str(write(tmp_path / "spans.jsonl", lines)), "--output", str(out))

    assert result.returncode == 0, result.stderr
    for number in bad:
        assert f"line {number}:" in result.stderr
    assert "ts is not ISO 8601" in result.stderr
    assert "duration_ms must be a finite number >= 0" in result.stderr
    assert "status must be an integer" in result.stderr
    assert json.loads(result.stderr.strip().splitlines()[-1])["skipped_lines"] == 6
    assert len(incidents(out)) == 1


def test_order_of_lines_does_not_matter_and_replays_run_side_by_side(tmp_path):
    lines = scenario_lines(seed=5)
    shuffled = list(lines)
    random.Random(1).shuffle(shuffled)
    paths = [
        write(tmp_path / "sorted.jsonl", lines),
        write(tmp_path / "shuffled.jsonl", shuffled),
    ]
    outs = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]

    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "replay", str(p), "--output", str(o)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
        )
        for p, o in zip(paths, outs, strict=True)
    ]
    for process in processes:
        process.wait(timeout=300)
        assert process.returncode == 0

    a, b = (incidents(o) for o in outs)
    strip = lambda items: [  # noqa: E731 - ids of anomalies differ by nothing else
        {k: v for k, v in i.items() if k != "anomalies"} for i in items
    ]
    assert strip(a) == strip(b) and len(a) == 1


def test_named_database_is_kept(tmp_path):
    kept = tmp_path / "backtest.sqlite3"

    result = replay(
        str(write(tmp_path / "s.jsonl", scenario_lines())),
        "--database",
        f"sqlite:///{kept}",
    )

    assert result.returncode == 0, result.stderr
    import sqlite3

    with sqlite3.connect(kept) as db:
        assert db.execute("select count(*) from detection_incident").fetchone() == (1,)


def test_interval_sets_the_cycle_times(tmp_path):
    lines = [
        json.dumps({"ts": T0 + 5 + i, "endpoint": "api", "duration_ms": 10})
        for i in range(200)
    ]

    result = replay(str(write(tmp_path / "s.jsonl", lines)), "--interval", "60")

    summary = json.loads(result.stderr.strip().splitlines()[-1])
    assert summary["first_cycle"] == "2026-01-20T10:01:00+00:00"
    assert summary["last_cycle"] == "2026-01-20T10:04:00+00:00"
    assert summary["cycles"] == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/no/such/file.jsonl"], "no such file"),
        (["{spans}", "--interval", "0"], "--interval must be a positive"),
        (["{spans}", "--interval", "abc"], "invalid float value"),
    ],
)
def test_bad_arguments_are_clean_errors(tmp_path, args, message):
    spans = write(
        tmp_path / "s.jsonl", ['{"ts": 1, "endpoint": "a", "duration_ms": 1}']
    )

    result = replay(*[a.format(spans=spans) for a in args])

    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.django_db(transaction=True)
def test_exported_spans_replay_to_the_same_incident(tmp_path):
    store(shop_traffic(T0, 600, seed=1))
    store(shop_traffic(FAULT_AT, 120, fault=Fault(inventory_error_rate=0.9), seed=2))
    exported = tmp_path / "export.jsonl"
    err = io.StringIO()

    call_command("export_spans", output=str(exported), stderr=err)
    result = replay(str(exported), "--output", str(tmp_path / "out.jsonl"))

    assert f"Exported {Span.objects.count()} spans." in err.getvalue()
    first = json.loads(exported.read_text().splitlines()[0])
    assert set(first) >= {
        "ts",
        "service",
        "endpoint",
        "method",
        "status",
        "duration_ms",
    }
    assert result.returncode == 0, result.stderr
    [incident] = incidents(tmp_path / "out.jsonl")
    assert incident["root_cause"]["endpoint"] == "inventory"


@pytest.mark.django_db
def test_export_filters_and_bad_times(tmp_path):
    store(shop_traffic(T0, 60, seed=1))
    out = io.StringIO()

    call_command(
        "export_spans",
        endpoint="payment",
        since="2026-01-20T10:00:30Z",
        stdout=out,
        stderr=io.StringIO(),
    )

    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows and {r["endpoint"] for r in rows} == {"payment"}
    assert min(r["ts"] for r in rows) >= "2026-01-20T10:00:30"
    with pytest.raises(Exception, match="--since is not ISO 8601"):
        call_command("export_spans", since="soon", stdout=io.StringIO())
