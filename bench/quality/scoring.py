"""Scoring: synthetic faults against incidents, and NAB's published method."""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime

from bench.quality.generate import FaultSpec
from bench.quality.scenarios import Scenario

GRACE = 300.0  # an incident opened up to 5 min after a fault ended still counts


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _keys(items) -> set[tuple[str, str]]:
    return {(i["service"], i["endpoint"]) for i in items}


@dataclass
class FaultResult:
    scenario: str
    kind: str
    target: tuple[str, str]
    detected: bool = False
    time_to_detect: float | None = None
    root_correct: bool = False
    in_top3: bool = False
    incidents: int = 0


@dataclass
class ScenarioResult:
    faults: list[FaultResult] = field(default_factory=list)
    false_incidents: int = 0
    fault_free_hours: float = 0.0


def _match(incident: dict, fault: FaultSpec, scenario: Scenario) -> int:
    """How well an incident explains a fault: 3 root, 2 candidate, 1 affected, 0 no."""
    root = (incident["root_cause"]["service"], incident["root_cause"]["endpoint"])
    if root == fault.target:
        return 3
    if fault.target in _keys(incident["root_cause"]["candidates"]):
        return 2
    involved = {fault.target} | scenario.topology.callers_of(fault.target)
    if involved & (_keys(incident["affected"]) | {root}):
        return 1
    return 0


def score_scenario(scenario: Scenario, incidents: list[dict]) -> ScenarioResult:
    result = ScenarioResult(fault_free_hours=scenario.fault_free_hours)
    results = {
        id(f): FaultResult(scenario.name, f.kind, f.target) for f in scenario.faults
    }
    for incident in incidents:
        opened = _epoch(incident["first_detected"])
        best, best_score = None, 0
        for fault in scenario.faults:
            if not fault.start <= opened <= fault.end + GRACE:
                continue
            score = _match(incident, fault, scenario)
            if score > best_score:
                best, best_score = fault, score
        if best is None:
            result.false_incidents += 1
            continue
        fault_result = results[id(best)]
        fault_result.incidents += 1
        if not fault_result.detected:
            fault_result.detected = True
            fault_result.time_to_detect = opened - best.start
            candidates = [
                (c["service"], c["endpoint"])
                for c in incident["root_cause"]["candidates"]
            ]
            fault_result.root_correct = best_score == 3
            fault_result.in_top3 = best.target in candidates[:3] or best_score == 3
    result.faults = list(results.values())
    return result


def summarize(results: list[ScenarioResult]) -> dict:
    faults = [f for r in results for f in r.faults]
    detected = [f for f in faults if f.detected]
    ttd = sorted(f.time_to_detect for f in detected)
    hours = sum(r.fault_free_hours for r in results)
    false = sum(r.false_incidents for r in results)
    return {
        "faults": len(faults),
        "recall": len(detected) / len(faults) if faults else 0.0,
        "median_ttd_s": statistics.median(ttd) if ttd else None,
        "worst_ttd_s": ttd[-1] if ttd else None,
        "rca_at_1": sum(f.root_correct for f in detected) / len(detected)
        if detected
        else 0,
        "rca_at_3": sum(f.in_top3 for f in detected) / len(detected) if detected else 0,
        "incidents_per_fault": sum(f.incidents for f in detected) / len(detected)
        if detected
        else 0,
        "false_incidents": false,
        "fault_free_hours": hours,
        "false_per_hour": false / hours if hours else 0.0,
    }


# --- NAB -----------------------------------------------------------------------


def _sigma(y: float) -> float:
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


@dataclass(frozen=True)
class NabCost:
    tp: float
    fn: float
    fp: float


def nab_file_score(
    timestamps: list[float],
    windows: list[tuple[float, float]],
    detections: list[float],
    cost: NabCost,
) -> tuple[float, int, int]:
    """(score, windows hit, false positives) of one file, NAB's way.

    Detections are mapped to the first row at or after them; the first 15 % of
    rows (at most 750) are a probation period and not scored.
    """
    rows = len(timestamps)
    probation = min(math.floor(0.15 * rows), 750)
    indices = sorted(
        {i for i in (bisect_left(timestamps, d) for d in detections) if i < rows}
    )
    spans = [
        (bisect_left(timestamps, start), min(bisect_left(timestamps, end), rows - 1))
        for start, end in windows
    ]
    score, hit, false_positives = 0.0, 0, 0
    credited: set[int] = set()
    for index in indices:
        if index < probation:
            continue
        inside = next((w for w, (a, b) in enumerate(spans) if a <= index <= b), None)
        if inside is not None:
            if inside in credited:
                continue  # only the earliest detection in a window counts
            credited.add(inside)
            a, b = spans[inside]
            y = (index - b) / max(b - a, 1)  # -1 at the window's start, 0 at its end
            score += cost.tp * _sigma(y) / _sigma(-1.0)
            hit += 1
            continue
        before = [(a, b) for a, b in spans if b < index]
        false_positives += 1
        if not before:
            score -= cost.fp
        else:
            a, b = before[-1]
            score += cost.fp * _sigma((index - b) / max(b - a, 1))
    score -= cost.fn * (len(spans) - len(credited))
    return score, hit, false_positives


def nab_normalized(total: float, windows: int, cost: NabCost) -> float:
    null = -cost.fn * windows
    perfect = cost.tp * windows
    return 100.0 * (total - null) / (perfect - null)
