"""Root cause from indirect evidence, through ``manage.py replay``: a callee that
stopped answering callers that record no CLIENT spans, slow hops between services
whose spans carry no kind (as in Nezha's Online Boutique traces), and a service
whose every call slowed down at once."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.replaying import replay_lines

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC
WARMUP = 600.0
FAULT_AT = T0 + WARMUP


class Traces:
    """Spans of a small system, one JSON object per span (the replay format)."""

    def __init__(self, seed: int, fault: str = "") -> None:
        self.rng = random.Random(seed)
        self.fault = fault
        self.spans: list[dict] = []

    def _id(self, bits: int) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def span(self, t, service, endpoint, ms, trace, parent, **extra) -> str:
        span_id = self._id(64)
        self.spans.append(
            {
                "ts": round(t, 6),
                "service": service,
                "endpoint": endpoint,
                "status": extra.pop("status", 200),
                "duration_ms": round(ms, 3),
                "trace_id": trace,
                "span_id": span_id,
                "parent_span_id": parent,
                **extra,
            }
        )
        return span_id

    def work(self, median: float) -> float:
        return median * self.rng.lognormvariate(0, 0.25)

    def lines(self) -> list[str]:
        return [json.dumps(s) for s in sorted(self.spans, key=lambda s: s["ts"])]


class Boutique(Traces):
    """gRPC-style: the caller's span is named after the RPC it calls, has that
    call as its only child, and says neither its kind nor a status."""

    CALLS = {
        "frontend": ("CartService/GetCart", "CurrencyService/Convert", "AdService/Ads"),
        "checkoutservice": ("CurrencyService/Convert", "PaymentService/Charge"),
    }
    OWNER = {
        "CartService": "cartservice",
        "CurrencyService": "currencyservice",
        "AdService": "adservice",
        "PaymentService": "paymentservice",
    }

    def request(self, t: float) -> None:
        trace = self._id(128)
        caller = self.rng.choice(sorted(self.CALLS))
        root_id = self._id(64)
        cursor = t + 0.002
        for rpc in self.CALLS[caller]:
            if self.fault == f"skip:{rpc}" and self.rng.random() < 0.9:
                continue  # a code fault: the request is answered without the call
            callee = self.OWNER[rpc.split("/")[0]]
            served = self.work(2.0)
            hop = self.rng.uniform(0.4, 1.0)
            if self.fault == f"network:{callee}":
                hop += 300.0
            if self.fault == f"cpu:{caller}":
                hop += 100.0
            total = served + hop
            hop_id = self.span(
                cursor, caller, f"hipstershop.{rpc}", total, trace, root_id
            )
            self.span(
                cursor + hop / 2000.0,
                callee,
                f"grpc.hipstershop.{rpc}",
                served,
                trace,
                hop_id,
            )
            cursor += total / 1000.0
        own = self.work(8.0)
        self.spans.append(
            {
                "ts": round(t, 6),
                "service": caller,
                "endpoint": "hipstershop.Frontend/Recv."
                if caller == "frontend"
                else "hipstershop.CheckoutService/PlaceOrder",
                "status": 200,
                "duration_ms": round((cursor - t) * 1000.0 + own, 3),
                "trace_id": trace,
                "span_id": root_id,
                "parent_span_id": None,
            }
        )


class PlainHttp(Traces):
    """Services instrumented on their inbound side only: SERVER spans, no CLIENT
    spans; a call that got no answer shows in the caller's error message."""

    def request(self, t: float) -> None:
        trace = self._id(128)
        if self.rng.random() < 0.5:
            parent = self._id(64)
            served = self.work(3.0)
            self.span(t + 0.001, "catalog", "GET /items", served, trace, parent)
            self.spans.append(
                self._server(t, "GET /catalog", served + 5, trace, parent)
            )
            return
        parent = self._id(64)
        if self.fault == "refused":
            error = "http://payments:8080/charge: [Errno 111] Connection refused"
            self.spans.append(
                self._server(t, "POST /checkout", 6.0, trace, parent, error)
            )
            return
        if self.fault == "timeout":
            error = "http://payments:8080/charge: read timed out (2.0 s)"
            self.spans.append(
                self._server(t, "POST /checkout", 2005.0, trace, parent, error)
            )
            return
        served = self.work(40.0)
        self.span(t + 0.001, "payments", "POST /charge", served, trace, parent)
        self.spans.append(self._server(t, "POST /checkout", served + 5, trace, parent))

    @staticmethod
    def _server(t, endpoint, ms, trace, span_id, error=None) -> dict:
        return {
            "ts": round(t, 6),
            "service": "shop-api",
            "endpoint": endpoint,
            "status": 502 if error else 200,
            "duration_ms": round(ms, 3),
            "trace_id": trace,
            "span_id": span_id,
            "parent_span_id": None,
            "error": {"type": "ConnectionError", "message": error} if error else None,
        }


def traffic(kind: type[Traces], fault: str, fault_seconds: float = 240) -> list[str]:
    healthy, faulty = kind(seed=1), kind(seed=2, fault=fault)
    for traces, start, seconds in (
        (healthy, T0, WARMUP),
        (faulty, FAULT_AT, fault_seconds),
    ):
        t = start
        while True:
            t += traces.rng.expovariate(4.0)
            if t >= start + seconds:
                break
            traces.request(t)
    return healthy.lines() + faulty.lines()


def replayed(tmp_path: Path, lines: list[str]) -> list[dict]:
    return replay_lines(tmp_path, lines, timeout=300)


def root(incident: dict) -> tuple[str, str]:
    return incident["root_cause"]["service"], incident["root_cause"]["endpoint"]


@pytest.mark.parametrize("fault", ["refused", "timeout"])
def test_a_callee_that_stopped_answering_is_the_root_not_its_callers(tmp_path, fault):
    incidents = replayed(tmp_path, traffic(PlainHttp, fault))

    assert [root(i) for i in incidents] == [("payments", "POST /charge")], [
        i["title"] for i in incidents
    ]
    [incident] = incidents
    assert incident["first_detected"] <= "2026-01-01T00:10:30+00:00"
    # Its callers fail (and, on a timeout, are slow too): one fault, one kind.
    assert incident["kind"] == "errors"
    affected = {(a["service"], a["endpoint"]) for a in incident["affected"]}
    assert ("shop-api", "POST /checkout") in affected
    # Its silence, noticed cycles later, joins the same incident.
    types = {(a["endpoint"], a["type"]) for a in incident["anomalies"]}
    assert ("POST /charge", "timeout_issue") in types


def test_slow_hops_to_one_service_from_every_caller_blame_that_service(tmp_path):
    incidents = replayed(tmp_path, traffic(Boutique, "network:currencyservice"))

    assert incidents, "the slow hops opened nothing"
    first = min(incidents, key=lambda i: i["first_detected"])
    assert root(first) == (
        "currencyservice",
        "grpc.hipstershop.CurrencyService/Convert",
    )
    assert first["root_cause"]["description"].startswith(
        "Slow calls to currencyservice"
    )
    assert len(incidents) == 1, [i["title"] for i in incidents]


def test_a_caller_slow_to_call_every_service_is_one_service_wide_incident(tmp_path):
    incidents = replayed(tmp_path, traffic(Boutique, "cpu:frontend"))

    assert [root(i) for i in incidents] == [("frontend", "*")], [
        i["title"] for i in incidents
    ]
    assert incidents[0]["root_cause"]["description"].startswith(
        "Service-wide slowdown of frontend"
    )


def test_healthy_boutique_traffic_opens_nothing(tmp_path):
    assert replayed(tmp_path, traffic(Boutique, "", fault_seconds=600)) == []


def test_requests_answered_without_their_usual_calls_blame_the_caller(tmp_path):
    # frontend returns before calling the ad service, nine times in ten: no
    # error, no latency spike, only a call that stopped being made.
    incidents = replayed(tmp_path, traffic(Boutique, "skip:AdService/Ads"))

    assert [root(i) for i in incidents] == [
        ("frontend", "hipstershop.Frontend/Recv.")
    ], [i["title"] for i in incidents]
    [incident] = incidents
    assert incident["kind"] == "errors"
    [anomaly] = [a for a in incident["anomalies"] if a["type"] == "call_change"]
    assert anomaly["detail"]["callee"] == "frontend/hipstershop.AdService/Ads"
    assert incident["root_cause"]["description"].startswith("Calls missing: ")
