"""Seeded synthetic traces: healthy traffic with daily swings, and injected faults.

Every request to an entry endpoint becomes one trace: a SERVER span per endpoint
it reaches and a CLIENT span per call, as OpenTelemetry-instrumented services
record them (or, with ``client_spans=False``, SERVER spans only, as services
instrumented on their inbound side alone do: a call that got no answer then shows
only in the caller's error message). Self times are log-normal with a long tail
(1 % of requests are 3-8 x slower), so a detector has realistic noise to ignore.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.quality.topologies import Topology

DAY = 86_400.0
# What ``_call`` returns for a callee that refused the connection.
REFUSED = -1.0


@dataclass(frozen=True)
class FaultSpec:
    kind: str  # latency | errors | silent | refused | creep | traffic
    target: tuple[str, str]
    start: float
    end: float
    # Latency multiplier of the target's own time (the final one for a creep);
    # for traffic, the multiplier of the requests entering at the target.
    factor: float = 1.0
    rate: float = 0.0  # error rate
    # Only requests served by this version of the target's service ("": all).
    version: str = ""

    def factor_at(self, t: float) -> float:
        if not self.start <= t < self.end:
            return 1.0
        if self.kind == "latency":
            return self.factor
        if self.kind == "creep":
            return 1.0 + (self.factor - 1.0) * (t - self.start) / (
                self.end - self.start
            )
        return 1.0

    def fails(self, t: float, rng: random.Random) -> bool:
        return (
            self.kind == "errors"
            and self.start <= t < self.end
            and rng.random() < self.rate
        )

    def silent(self, t: float) -> bool:
        return self.kind == "silent" and self.start <= t < self.end

    def refuses(self, t: float) -> bool:
        return self.kind == "refused" and self.start <= t < self.end

    def traffic_factor(self, entry: tuple[str, str], t: float) -> float:
        if (
            self.kind == "traffic"
            and self.target == entry
            and self.start <= t < self.end
        ):
            return self.factor
        return 1.0


def _call_error(callee, refused: bool, answered: bool, status) -> dict:
    """What a caller's error says about a call that failed, as HTTP clients word it."""
    target = f"http://{callee[0]}:8080{callee[1]}"
    if refused:
        return {
            "type": "ConnectionError",
            "message": f"{target}: [Errno 111] Connection refused",
        }
    if not answered:
        return {"type": "ReadTimeout", "message": f"{target}: read timed out"}
    return {"type": "HTTPError", "message": f"{target} returned {status}"}


@dataclass(frozen=True)
class Deploy:
    """From ``at`` on, ``share`` of a service's requests run ``version`` (a
    canary below 1); before, every service runs version "1"."""

    service: str
    at: float
    version: str
    share: float = 1.0


@dataclass
class Generator:
    topology: Topology
    seed: int
    faults: list[FaultSpec] = field(default_factory=list)
    timeout_ms: float = 2_000.0
    rps: float = 1.0
    swing: float = 0.5  # daily traffic swing: rate * (1 +- swing)
    phase: float = 0.0
    client_spans: bool = True
    deploys: list[Deploy] = field(default_factory=list)
    # Requests per second at time t, instead of rps with the daily swing.
    profile: Callable[[float], float] | None = None
    # Healthy, recurring slowness: (endpoint, factor at time t).
    slow_hours: list[tuple[tuple[str, str], Callable[[float], float]]] = field(
        default_factory=list
    )

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def _version(self, service: str, t: float) -> str:
        version = "1"
        for deploy in self.deploys:
            if deploy.service == service and deploy.at <= t:
                if deploy.share >= 1.0 or self.rng.random() < deploy.share:
                    version = deploy.version
        return version

    def _id(self, bits: int) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def rate_at(self, t: float) -> float:
        if self.profile is not None:
            return self.profile(t)
        return self.rps * (
            1 + self.swing * math.sin(2 * math.pi * (t - self.phase) / DAY)
        )

    def _self_time(self, median: float, sigma: float) -> float:
        value = median * self.rng.lognormvariate(0, sigma)
        if self.rng.random() < 0.01:
            value *= self.rng.uniform(3, 8)  # the long tail: GC pauses, cold caches
        return value

    def _call(self, key, t, parent, trace, out) -> tuple[float, int | None]:
        """Serve ``key`` starting at ``t`` (seconds); returns (duration ms, status)."""
        endpoint = self.topology.endpoints[key]
        version = self._version(key[0], t)
        faults = [
            f for f in self.faults if f.target == key and f.version in ("", version)
        ]
        if any(f.silent(t) for f in faults):
            return math.inf, None
        if any(f.refuses(t) for f in faults):
            return REFUSED, None
        span_id = self._id(64)
        own = self._self_time(endpoint.self_ms, endpoint.sigma)
        for fault in faults:
            own *= fault.factor_at(t)
        for slow_key, factor in self.slow_hours:
            if slow_key == key:
                own *= factor(t)
        cursor = t + own / 2000.0  # half of the own work before the calls
        status = 200
        if any(f.fails(t, self.rng) for f in faults):
            status = 500
        ends = [cursor]
        error = {"type": "ServerError"}
        for callee in endpoint.calls if status == 200 else ():
            start = cursor if endpoint.parallel else ends[-1]
            network = self.rng.uniform(0.2, 0.8)
            client_id = self._id(64)
            duration, callee_status = self._call(
                callee,
                start + network / 1000.0,
                client_id if self.client_spans else span_id,
                trace,
                out,
            )
            refused = duration == REFUSED
            if refused:
                waited, answered = self.rng.uniform(0.5, 1.5), False
            else:
                waited = min(duration + 2 * network, self.timeout_ms)
                answered = duration + 2 * network <= self.timeout_ms
            if self.client_spans:
                out.append(
                    {
                        "ts": round(start, 6),
                        "service": key[0],
                        "endpoint": callee[1],
                        "kind": "client",
                        "peer": callee[0],
                        "status": callee_status if answered else None,
                        "duration_ms": round(waited, 3),
                        "trace_id": trace,
                        "span_id": client_id,
                        "parent_span_id": span_id,
                        "error": None
                        if answered and callee_status == 200
                        else {"type": "CallFailed"},
                    }
                )
            ends.append(start + waited / 1000.0)
            if not answered or callee_status != 200:
                status = 502
                error = _call_error(callee, refused, answered, callee_status)
                break
        finish = max(ends) + own / 2000.0
        duration = (finish - t) * 1000.0
        out.append(
            {
                "ts": round(t, 6),
                "service": key[0],
                "endpoint": key[1],
                "status": status,
                "duration_ms": round(duration, 3),
                "trace_id": trace,
                "span_id": span_id,
                "parent_span_id": parent,
                "error": None if status == 200 else error,
                "version": version,
            }
        )
        return duration, status

    def traffic(self, start: float, end: float) -> list[dict]:
        """All spans of all requests arriving in [start, end)."""
        out: list[dict] = []
        entries = list(self.topology.entries.items())
        keys = [k for k, _ in entries]
        usual = sum(w for _, w in entries)
        t = start
        while True:
            # A traffic fault scales its entry's share of the arrivals.
            weights = [
                w * math.prod(f.traffic_factor(k, t) for f in self.faults)
                for k, w in entries
            ]
            t += self.rng.expovariate(self.rate_at(t) * sum(weights) / usual)
            if t >= end:
                return out
            entry = self.rng.choices(keys, weights)[0]
            self._call(entry, t, None, self._id(128), out)
