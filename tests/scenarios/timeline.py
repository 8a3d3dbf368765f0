"""A simulated clock for whole-app scenarios: spans arrive when they would live.

A span is recorded when its request ends, so it becomes visible at start +
duration (plus any delivery delay: an exporter's batch or retry, a clock behind).
``Timeline.cycle(t)`` stores every span visible by ``t`` that was not stored yet,
through the same bulk writer as live requests, then runs ``manage.py run_analysis
--at t``. Operators act through the HTTP API at a chosen simulated moment
(``Timeline.operator``), with the process clock moved there by time-machine: the
API reads the wall clock, the scenario decides what it says.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import time_machine
from django.core.management import call_command
from rest_framework.test import APIClient

from aiops.telemetry.records import SpanRecord
from aiops.telemetry.store import insert_spans
from tests.conftest import make_user, token_client
from tests.detection.traffic import HEALTHY, Fault, shop_traffic


def moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def health_checks(start: float, seconds: float, *, rps: float, seed: int = 5):
    """GET /health of the demo shop: a root endpoint with no calls."""
    rng = random.Random(seed)
    spans, t = [], start + rng.expovariate(rps)
    while t < start + seconds:
        spans.append(
            SpanRecord(
                service="shop",
                endpoint="health",
                method="GET",
                start_time=moment(t),
                duration_ms=rng.lognormvariate(0, 0.2) * 2.0,
                status_code=200,
                trace_id=f"{rng.getrandbits(128):032x}",
                span_id=f"{rng.getrandbits(64):016x}",
            )
        )
        t += rng.expovariate(rps)
    return spans


@dataclass
class Timeline:
    pending: list[tuple[float, SpanRecord]] = field(default_factory=list)
    reports: list[dict] = field(default_factory=list)
    _seed: int = 100

    def send(self, spans: list[SpanRecord], *, delay: float = 0.0) -> None:
        for span in spans:
            ends = span.start_time.timestamp() + span.duration_ms / 1000.0
            self.pending.append((ends + delay, span))

    def shop(
        self,
        start: float,
        seconds: float,
        *,
        rps: float = 2.0,
        fault: Fault = HEALTHY,
        delay: float = 0.0,
    ) -> None:
        """Demo-shop checkouts (checkout -> payment, inventory) over a stretch."""
        self._seed += 1
        self.send(
            shop_traffic(start, seconds, rps=rps, fault=fault, seed=self._seed),
            delay=delay,
        )

    def health(self, start: float, seconds: float, *, rps: float = 0.5) -> None:
        self._seed += 1
        self.send(health_checks(start, seconds, rps=rps, seed=self._seed))

    def cycle(self, t: float) -> dict:
        """Deliver what is visible by ``t``, then one ``run_analysis --at t``."""
        due = sorted((p for p in self.pending if p[0] <= t), key=lambda p: p[0])
        self.pending = [p for p in self.pending if p[0] > t]
        if due:
            insert_spans([span for _, span in due])
        out = io.StringIO()
        call_command("run_analysis", at=moment(t).isoformat(), stdout=out)
        report = json.loads(out.getvalue())
        self.reports.append(report)
        return report

    def cycles(self, start: float, end: float, every: float = 30.0) -> list[dict]:
        """Cycles at every multiple of ``every`` in (start, end]."""
        reports = []
        t = (start // every + 1) * every
        while t <= end:
            reports.append(self.cycle(t))
            t += every
        return reports

    @contextlib.contextmanager
    def operator(self, at: float) -> Iterator[APIClient]:
        """A staff user's API client, acting at simulated time ``at``."""
        client = token_client(_staff())
        with time_machine.travel(moment(at), tick=False):
            yield client


def _staff():
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username="operator").first()
    return user or make_user("operator", staff=True)


def incidents(client: APIClient | None = None) -> list[dict]:
    """Every incident, through the API, oldest first."""
    client = client or token_client(_staff())
    response = client.get("/aiops/incidents?limit=100")
    assert response.status_code == 200, response.content
    body = response.json()
    every = body["active_incidents"] + body["resolved_incidents"]
    return sorted(every, key=lambda i: (i["first_detected"], i["id"]))
