"""A fresh install whose first traffic is a quiet night, through ``manage.py
replay``: one request every 45 s or so from midnight, then the morning ramp to 2
requests a second. Its endpoints are not busy yet (no cycle holds a window's
worth of requests), so each cycle's median is one request; one request in a
hundred takes 8 x as long (the long tail: a pause, a cold cache). A new baseline
learned from a few dozen calm night requests has not seen the tail yet: one such
request is still one slow request, not an incident (it was a latency shift of 20
standard deviations before). A real slowdown that night is still found."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from tests.replaying import replay_lines

MONDAY = 1_767_571_200.0  # 2026-01-05 00:00 UTC
HOUR = 3_600.0
FAULT_AT = MONDAY + 3 * HOUR  # 03:00, 5 x slower for 15 minutes


def _rate(t: float) -> float:
    """Requests per second: one in 45 s at night, rising from 07:00 to 2 at 09:00."""
    hour = (t - MONDAY) / HOUR
    return 1 / 45 + (2.0 - 1 / 45) * min(1.0, max(0.0, (hour - 7) / 2))


def _lines(hours: float, *, fault: bool = False) -> list[str]:
    rng = random.Random(42)
    t, starts = MONDAY, []
    while (t := t + rng.expovariate(_rate(t))) < MONDAY + hours * HOUR:
        starts.append(t)
    cycles = Counter(int(t // 30) for t in starts)
    lines, tail_at = [], 50
    for n, t in enumerate(starts):
        duration = 6.0 * rng.lognormvariate(0, 0.35)
        if n >= tail_at and cycles[int(t // 30)] == 1:
            # The long tail, one request in a hundred; at night, like most
            # requests, alone in its cycle.
            duration *= 8
            tail_at += 100
        if fault and FAULT_AT <= t < FAULT_AT + 900:
            duration *= 5
        lines.append(
            json.dumps(
                {
                    "ts": round(t, 3),
                    "service": "db",
                    "endpoint": "SELECT items",
                    "status": 200,
                    "duration_ms": round(duration, 3),
                }
            )
        )
    return lines


def _replay(tmp_path: Path, lines: list[str]) -> list[dict]:
    return replay_lines(tmp_path, lines, interval=30)


def _opened(incident: dict) -> float:
    return datetime.fromisoformat(incident["first_detected"]).timestamp()


@pytest.mark.django_db
def test_a_quiet_first_night_and_the_morning_ramp_open_nothing(tmp_path):
    lines = _lines(9.5)
    tail = [json.loads(line) for line in lines]
    # The night holds a few tail requests, judged once the baseline knows 20.
    assert sum(s["duration_ms"] > 30 and s["ts"] < MONDAY + 7 * HOUR for s in tail) >= 3

    found = _replay(tmp_path, lines)

    assert found == [], [(i["first_detected"], i["title"]) for i in found]


@pytest.mark.django_db
def test_a_slowdown_on_the_quiet_first_night_is_still_found(tmp_path):
    found = _replay(tmp_path, _lines(3.5, fault=True))

    [incident] = found
    assert FAULT_AT <= _opened(incident) <= FAULT_AT + 300, incident["first_detected"]
    assert incident["root_cause"]["endpoint"] == "SELECT items"
