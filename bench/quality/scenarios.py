"""The synthetic scenarios: seeded, so every run measures the same traffic."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.quality.generate import Deploy, FaultSpec, Generator
from bench.quality.topologies import TOPOLOGIES, Topology

START = 1_768_899_600.0  # 2026-01-20 09:00 UTC
HOUR = 3_600.0


@dataclass
class Scenario:
    name: str
    topology: Topology
    seed: int
    hours: float
    faults: list[FaultSpec] = field(default_factory=list)
    rps: float = 1.0
    phase: float = 0.0
    client_spans: bool = True
    deploys: list[Deploy] = field(default_factory=list)
    # Changes a pipeline records (replay's change lines): (service, kind, at).
    changes: list[tuple[str, str, float]] = field(default_factory=list)
    # Seasonal traffic (see generate.Generator) and where it starts.
    profile: Callable[[float], float] | None = None
    slow_hours: list = field(default_factory=list)
    start: float = START

    def spans(self) -> list[dict]:
        generator = Generator(
            self.topology,
            self.seed,
            self.faults,
            rps=self.rps,
            phase=self.phase,
            client_spans=self.client_spans,
            deploys=self.deploys,
            profile=self.profile,
            slow_hours=self.slow_hours,
        )
        return generator.traffic(self.start, self.start + self.hours * HOUR)

    def change_lines(self) -> list[dict]:
        return [
            {"change": {"service": s, "kind": kind, "note": "bench", "at": at}}
            for s, kind, at in self.changes
        ]

    @property
    def fault_free_hours(self) -> float:
        """Hours before the first fault: traffic where any incident is a false one."""
        if not self.faults:
            return self.hours
        return (min(f.start for f in self.faults) - self.start) / HOUR


def _fault(kind: str, target, rng: random.Random, start: float) -> FaultSpec:
    if kind == "latency":
        return FaultSpec(
            "latency", target, start, start + 15 * 60, factor=rng.uniform(3, 10)
        )
    if kind == "errors":
        return FaultSpec(
            "errors", target, start, start + 15 * 60, rate=rng.uniform(0.2, 1.0)
        )
    if kind in ("silent", "refused"):
        return FaultSpec(kind, target, start, start + 15 * 60)
    if kind == "creep":
        return FaultSpec(
            "creep", target, start, start + 30 * 60, factor=rng.uniform(4, 6)
        )
    raise ValueError(kind)


def _subtree_apart(topology: Topology, a, b) -> bool:
    """Neither calls the other, directly or not: two independent faults."""
    return (
        a not in topology.callers_of(b) and b not in topology.callers_of(a) and a != b
    )


def fault_scenarios(seeds=(1, 2)) -> list[Scenario]:
    scenarios = []
    for topology_name, build in TOPOLOGIES.items():
        for seed in seeds:
            rng = random.Random(f"{topology_name}-{seed}")
            topology = build()
            start = START + HOUR
            leaves, middles = topology.leaves(), topology.middles()
            plans = {
                "latency-leaf": [_fault("latency", rng.choice(leaves), rng, start)],
                "latency-middle": [_fault("latency", rng.choice(middles), rng, start)],
                "errors": [_fault("errors", rng.choice(leaves + middles), rng, start)],
                "silent": [_fault("silent", rng.choice(leaves), rng, start)],
                "creep": [_fault("creep", rng.choice(leaves + middles), rng, start)],
            }
            while True:
                a, b = rng.sample(leaves + middles, 2)
                if _subtree_apart(topology, a, b):
                    break
            plans["two-faults"] = [
                _fault("latency", a, rng, start),
                _fault("errors", b, rng, start),
            ]
            for kind, faults in plans.items():
                hours = (max(f.end for f in faults) - START) / HOUR + 0.25
                scenarios.append(
                    Scenario(
                        f"{topology_name}-{kind}-{seed}",
                        topology,
                        seed * 1000 + len(scenarios),
                        hours,
                        faults,
                    )
                )
    return scenarios + silent_callee_scenarios(seeds)


def silent_callee_scenarios(seeds=(1, 2)) -> list[Scenario]:
    """A callee that stops answering, seen by callers that record no CLIENT spans:
    the callee's spans stop, its callers fail and say which host they could not
    reach. Seed 1 refuses connections (callers fail at once), seed 2 hangs
    (callers time out after 2 s)."""
    scenarios = []
    for topology_name, build in TOPOLOGIES.items():
        for seed in seeds:
            rng = random.Random(f"{topology_name}-silent-callee-{seed}")
            topology = build()
            kind = "refused" if seed % 2 else "silent"
            fault = _fault(kind, rng.choice(topology.leaves()), rng, START + HOUR)
            scenarios.append(
                Scenario(
                    f"{topology_name}-silent-callee-{kind}-{seed}",
                    topology,
                    seed * 1000 + 500 + len(scenarios),
                    (fault.end - START) / HOUR + 0.25,
                    [fault],
                    client_spans=False,
                )
            )
    return scenarios


def quiet_scenarios(hours: float = 8.0) -> list[Scenario]:
    """Long fault-free runs across the steep part of the daily traffic swing."""
    return [
        Scenario(f"{name}-no-fault", build(), 77 + n, hours, [], phase=n * 8 * HOUR)
        for n, (name, build) in enumerate(TOPOLOGIES.items())
    ]
