"""Nezha's Online Boutique fault cases (real traces, no status codes) through replay.

Each case is 20 minutes of fault-free warm-up followed by the 180 s after a labelled
fault was injected (``../shared/data/nezha-ob/README.md``). Scored as the literature
does: the first incident detected at or after the injection (of several opened in
that cycle, the gravest, then the one that cost users the most time); AC@1 when its root
service is the labelled one, AC@3 when the labelled service is among the first three
distinct services of ``root_cause.candidates``. Every incident opened before the
injection is a false one (the warm-up is fault-free).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

NEZHA = Path(__file__).resolve().parents[3] / "shared" / "data" / "nezha-ob"


@dataclass
class Case:
    name: str
    fault_type: str
    root_service: str
    inject: float  # epoch seconds

    @property
    def number(self) -> str:
        return self.name.removeprefix("case-")


@dataclass
class CaseResult:
    case: Case
    detected: bool = False
    time_to_detect: float | None = None
    root_service: str | None = None
    top3: list[str] = field(default_factory=list)
    title: str = ""
    same_cycle: int = 0  # incidents opened in the cycle that detected it
    false_titles: list[str] = field(default_factory=list)

    @property
    def at1(self) -> bool:
        return self.detected and self.root_service == self.case.root_service

    @property
    def at3(self) -> bool:
        return self.detected and self.case.root_service in self.top3


def cases(nezha: Path = NEZHA) -> list[Case]:
    labels = json.loads((nezha / "labels.json").read_text())
    return [
        Case(
            label["case"],
            label["fault_type"],
            label["root_cause_service"],
            datetime.strptime(label["inject_time_utc"], "%Y-%m-%d %H:%M:%S")
            .replace(tzinfo=UTC)
            .timestamp(),
        )
        for label in labels
    ]


def build(work: Path, chosen: list[Case], nezha: Path = NEZHA) -> None:
    """Write the replay files with the dataset's own builder (skips existing ones)."""
    missing = [c.name for c in chosen if not (work / f"{c.name}.jsonl").exists()]
    if missing:
        subprocess.run(
            [sys.executable, str(nezha / "build_cases.py"), str(work), *missing],
            check=True,
            capture_output=True,
        )


def _services_in_order(candidates: list[dict]) -> list[str]:
    seen: list[str] = []
    for candidate in candidates:
        if candidate["service"] not in seen:
            seen.append(candidate["service"])
    return seen


SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _time_lost_ms(incident: dict) -> float:
    """Extra latency its anomalies added in their first cycle, summed over the
    slow requests: what the incident cost users when it opened."""
    total = 0.0
    for anomaly in incident["anomalies"]:
        first = (anomaly.get("history") or [anomaly])[0]
        if anomaly["type"] in ("latency_anomaly", "latency_shift", "latency_series"):
            samples = first.get("samples", anomaly["sample_count"])
            total += max(first["observed"] - first["expected"], 0.0) * samples
    return total


def _first_look(incident: dict) -> tuple:
    """Of incidents opened in the same cycle, the one an operator opens first: the
    gravest, then the one that cost users the most time."""
    return (
        incident["first_detected"],
        SEVERITY.get(incident["severity"], 4),
        -_time_lost_ms(incident),
    )


def score_case(case: Case, incidents: list[dict]) -> CaseResult:
    result = CaseResult(case)
    for incident in sorted(incidents, key=_first_look):
        opened = datetime.fromisoformat(incident["first_detected"]).timestamp()
        if opened < case.inject:
            result.false_titles.append(incident["title"])
            continue
        if result.detected:
            continue
        result.detected = True
        result.time_to_detect = opened - case.inject
        result.root_service = incident["root_cause"]["service"]
        result.top3 = _services_in_order(incident["root_cause"]["candidates"])[:3]
        if result.root_service not in result.top3:
            result.top3 = [result.root_service, *result.top3][:3]
        result.title = incident["title"]
        result.same_cycle = sum(
            i["first_detected"] == incident["first_detected"] for i in incidents
        )
    return result


def summarize(results: list[CaseResult]) -> dict:
    detected = [r for r in results if r.detected]
    ttd = [r.time_to_detect for r in detected if r.time_to_detect is not None]
    by_type: dict[str, dict] = {}
    for r in results:
        row = by_type.setdefault(
            r.case.fault_type, {"cases": 0, "detected": 0, "at1": 0, "at3": 0}
        )
        row["cases"] += 1
        row["detected"] += r.detected
        row["at1"] += r.at1
        row["at3"] += r.at3
    return {
        "cases": len(results),
        "detected": len(detected),
        "ac_at_1": sum(r.at1 for r in results) / len(results) if results else 0.0,
        "ac_at_3": sum(r.at3 for r in results) / len(results) if results else 0.0,
        "median_ttd_s": statistics.median(ttd) if ttd else None,
        "false_in_warmup": sum(len(r.false_titles) for r in results),
        "cases_with_ties": sum(r.same_cycle > 1 for r in results),
        "by_type": dict(sorted(by_type.items())),
        "per_case": [
            {
                "case": r.case.name,
                "fault": f"{r.case.fault_type} on {r.case.root_service}",
                "found": r.root_service,
                "top3": r.top3,
                "ttd_s": r.time_to_detect,
                "title": r.title,
                "false": r.false_titles[:5],
                "false_count": len(r.false_titles),
                "same_cycle": r.same_cycle,
            }
            for r in results
        ],
    }


def print_table(report: dict) -> None:
    print(f"\nNezha Online Boutique ({report['cases']} real faults, no status codes)")
    print(f"  detected                    {report['detected']}/{report['cases']}")
    print(f"  root cause AC@1 (service)   {report['ac_at_1']:.1%}")
    print(f"  root cause AC@3 (service)   {report['ac_at_3']:.1%}")
    print(f"  median time to detect       {report['median_ttd_s']} s")
    print(f"  false incidents in warm-up  {report['false_in_warmup']} (15 x 20 min)")
    print(f"  cases with incidents tied   {report['cases_with_ties']} (same cycle)")
    for kind, row in report["by_type"].items():
        print(
            f"    {kind:15} detected {row['detected']}/{row['cases']}, "
            f"AC@1 {row['at1']}, AC@3 {row['at3']}"
        )
    for row in report["per_case"]:
        top3 = ",".join(row["top3"])
        print(
            f"    {row['case']} {row['fault']:38} -> {row['found'] or '-':22} "
            f"[{top3}] ttd {row['ttd_s']} false {row['false_count']} "
            f"tied {row['same_cycle']}"
        )
