"""Synthetic demo-shop traffic with explicit timestamps: the controllable clock.

Traces have the demo shop's shape (checkout calls payment, then inventory) with
log-normal service times. Spans go in through the same bulk writer as live
requests; cycles run through ``run_analysis --at``.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import UTC, datetime

import time_machine
from django.core.management import call_command

from aiops.telemetry.records import SpanRecord
from aiops.telemetry.store import insert_spans
from tests.conftest import make_user, token_client

T0 = datetime(2026, 1, 20, 10, 0, 0, tzinfo=UTC).timestamp()


@dataclass
class Fault:
    payment_delay_ms: float = 0.0
    payment_error_rate: float = 0.0
    payment_silent: bool = False
    inventory_delay_ms: float = 0.0
    inventory_error_rate: float = 0.0
    # Share of checkouts that answer 200 without calling inventory (a code fault
    # that returns early).
    inventory_skip_rate: float = 0.0
    checkout_timeout_ms: float = 5_000.0


HEALTHY = Fault()


def _id(rng: random.Random, bits: int) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def _record(endpoint, method, start, duration, status, trace, span, parent, **extra):
    return SpanRecord(
        service="shop",
        endpoint=endpoint,
        method=method,
        start_time=datetime.fromtimestamp(start, tz=UTC),
        duration_ms=duration,
        status_code=status,
        trace_id=trace,
        span_id=span,
        parent_span_id=parent,
        is_error=status is None or status >= 500,
        **extra,
    )


class _Trace:
    """Builds one checkout trace the way the demo shop records it."""

    def __init__(self, rng: random.Random, fault: Fault, client_spans: bool) -> None:
        self.rng, self.fault, self.client_spans = rng, fault, client_spans
        self.trace_id = _id(rng, 128)
        self.checkout_id = _id(rng, 64)
        self.spans: list[SpanRecord] = []

    def call(self, endpoint, method, t, duration, failed) -> tuple[float, int | None]:
        """One downstream call at ``t``; returns (time it returns, status seen)."""
        timeout = self.fault.checkout_timeout_ms
        answered = duration <= timeout
        seen = (500 if failed else 200) if answered else None
        waited = duration if answered else timeout
        parent = self.checkout_id
        if self.client_spans:
            parent = _id(self.rng, 64)
            self.spans.append(
                _record(
                    f"{method} /{endpoint}",
                    method,
                    t,
                    waited + 0.4,
                    seen,
                    self.trace_id,
                    parent,
                    self.checkout_id,
                    kind="client",
                    peer="127.0.0.1:8000",
                    error_type="" if answered else "TimeoutError",
                )
            )
        if duration != float("inf"):
            self.spans.append(
                _record(
                    endpoint,
                    method,
                    t + 0.0002,
                    duration,
                    500 if failed else 200,
                    self.trace_id,
                    _id(self.rng, 64),
                    parent,
                    error_type="InjectedFault" if failed else "",
                )
            )
        return t + (waited + 0.4) / 1000.0, seen


def checkout_trace(
    start: float,
    rng: random.Random,
    fault: Fault = HEALTHY,
    sigma: float = 0.15,
    client_spans: bool = True,
) -> list[SpanRecord]:
    trace = _Trace(rng, fault, client_spans)
    t = start + rng.lognormvariate(0, 0.3) * 0.0015
    status, error = 200, ""
    if fault.payment_silent:
        payment = float("inf")  # never answers: no payment span at all
    else:
        payment = rng.lognormvariate(0, sigma) * 100 + fault.payment_delay_ms
    t, seen = trace.call(
        "payment", "POST", t, payment, rng.random() < fault.payment_error_rate
    )
    if seen != 200:
        status, error = 502, "DownstreamError"
    elif fault.inventory_skip_rate and rng.random() < fault.inventory_skip_rate:
        pass
    else:
        inventory = rng.lognormvariate(0, sigma) * 50 + fault.inventory_delay_ms
        t, seen = trace.call(
            "inventory",
            "GET",
            t + 0.001,
            inventory,
            rng.random() < fault.inventory_error_rate,
        )
        if seen != 200:
            status, error = 502, "DownstreamError"
    t += rng.lognormvariate(0, 0.3) * 0.0015
    trace.spans.append(
        _record(
            "checkout",
            "POST",
            start,
            (t - start) * 1000.0,
            status,
            trace.trace_id,
            trace.checkout_id,
            None,
            error_type=error,
        )
    )
    return trace.spans


def shop_traffic(
    start: float,
    seconds: float,
    *,
    rps: float = 2.0,
    fault: Fault = HEALTHY,
    seed: int = 1,
    sigma: float = 0.15,
) -> list[SpanRecord]:
    """Checkouts arriving as a Poisson process of ``rps`` per second."""
    rng = random.Random(seed)
    spans: list[SpanRecord] = []
    t = start + rng.expovariate(rps)
    while t < start + seconds:
        spans.extend(checkout_trace(t, rng, fault, sigma))
        t += rng.expovariate(rps)
    return spans


def store(spans: list[SpanRecord]) -> None:
    insert_spans(spans)


def at(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat()


def run_cycles(start: float, end: float, interval: int = 30) -> list[float]:
    """``run_analysis --at T`` for each multiple of ``interval`` in (start, end]."""
    times = []
    t = (int(start) // interval + 1) * interval
    while t <= end:
        call_command("run_analysis", at=at(t), stdout=io.StringIO())
        times.append(t)
        t += interval
    return times


def resolve_as_operator(public_id: str, at: float) -> None:
    """A staff user resolves the incident through the API at simulated ``at``."""
    client = token_client(make_user("operator", staff=True))
    with time_machine.travel(datetime.fromtimestamp(at, tz=UTC), tick=False):
        answer = client.post(f"/aiops/incidents/{public_id}/resolve")
    assert answer.status_code == 200, answer.content
