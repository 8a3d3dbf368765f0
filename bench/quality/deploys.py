"""The deploy family (issue 23): faults that follow changes, changes that break
nothing, and a fault that follows a change it has nothing to do with.

Per topology and seed, on the synthetic generator (every service runs version
"1" until a deploy):

- ``bad-deploy``: a service deploys version "2" and one of its endpoints fails
  or slows down from that moment;
- ``config``: a pipeline records a configuration change of a service (a change
  line in the replay file); 20 s later one of its endpoints degrades;
- ``canary``: a tenth of a service's requests run "2", and those fail;
- ``unrelated``: a service deploys "2", serves well for 10 minutes, then one of
  its endpoints degrades (the deploy is not the cause);
- ``good-deploy``: a service deploys "2" and nothing changes (any incident is a
  false one).

Change attribution is right when the incident that detected the fault names the
change of that service in ``root_cause.evidence.change`` (for the canary, blaming
version "2"), when the unrelated fault's incident names no change, and when the
good deploy opens no incident at all.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from bench.quality.generate import Deploy, FaultSpec
from bench.quality.scenarios import HOUR, START, Scenario, _fault
from bench.quality.scoring import score_scenario
from bench.quality.topologies import TOPOLOGIES

CASES = ("bad-deploy", "config", "canary", "unrelated", "good-deploy")


@dataclass
class DeployCase:
    scenario: Scenario
    case: str
    service: str  # the service that changed


def deploy_scenarios(seeds=(1, 2)) -> list[DeployCase]:
    cases = []
    for topology_name, build in TOPOLOGIES.items():
        for seed in seeds:
            rng = random.Random(f"{topology_name}-deploy-{seed}")
            topology = build()
            start = START + HOUR
            target = rng.choice(topology.leaves() + topology.middles())
            service = target[0]
            fault = _fault("errors" if seed % 2 else "latency", target, rng, start)
            later = replace(fault, start=start + 20, end=fault.end + 20)
            canary = FaultSpec(
                "errors", target, start, start + 15 * 60, rate=1.0, version="2"
            )
            plans = {
                "bad-deploy": ([fault], [Deploy(service, start, "2")], []),
                "config": ([later], [], [(service, "config", start)]),
                "canary": ([canary], [Deploy(service, start, "2", share=0.1)], []),
                "unrelated": ([fault], [Deploy(service, start - 600, "2")], []),
                "good-deploy": ([], [Deploy(service, start, "2")], []),
            }
            for case, (faults, deploys, changes) in plans.items():
                name = f"{topology_name}-{case}-{seed}"
                scenario = Scenario(
                    name,
                    topology,
                    seed * 1000 + 700 + len(cases),
                    (start - START) / HOUR + 0.5,
                    faults,
                    deploys=deploys,
                    changes=changes,
                )
                cases.append(DeployCase(scenario, case, service))
    return cases


def _attribution_right(case: DeployCase, incidents: list[dict]) -> bool:
    if case.case == "good-deploy":
        return not incidents
    scenario = case.scenario
    (fault,) = scenario.faults
    detecting = [
        i
        for i in incidents
        if fault.start <= _epoch(i["first_detected"]) <= fault.end + 300
    ]
    if not detecting:
        return False
    change = detecting[0]["root_cause"]["evidence"].get("change")
    if case.case == "unrelated":
        return change is None
    if change is None or change["service"] != case.service:
        return False
    return case.case != "canary" or change["blamed_version"] == "2"


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def score(outcomes: list[tuple[DeployCase, list[dict]]]) -> dict:
    by_case: dict[str, dict] = {}
    right_total = detected_total = faults_total = false_total = 0
    for case, incidents in outcomes:
        result = score_scenario(case.scenario, incidents)
        right = _attribution_right(case, incidents)
        row = by_case.setdefault(
            case.case, {"cases": 0, "attributed_right": 0, "detected": 0, "false": 0}
        )
        row["cases"] += 1
        row["attributed_right"] += right
        row["detected"] += sum(f.detected and f.root_correct for f in result.faults)
        row["false"] += result.false_incidents
        right_total += right
        faults_total += len(result.faults)
        detected_total += sum(f.detected and f.root_correct for f in result.faults)
        false_total += result.false_incidents
    return {
        "cases": len(outcomes),
        "attribution_accuracy": right_total / len(outcomes) if outcomes else 0.0,
        "faults": faults_total,
        "detected_root_right": detected_total,
        "false_incidents": false_total,
        "by_case": by_case,
        "wrong": [
            f"{case.scenario.name}: "
            + "; ".join(
                f"{i['title']} change={i['root_cause']['evidence'].get('change')}"
                for i in incidents
            )[:600]
            for case, incidents in outcomes
            if not _attribution_right(case, incidents)
        ],
    }


def print_table(report: dict) -> None:
    print("\nDeploys and changes (synthetic, issue 23)")
    print(
        f"  change attribution          {report['attribution_accuracy']:.1%} "
        f"({report['cases']} cases)"
    )
    print(
        f"  faults detected, root right {report['detected_root_right']}/"
        f"{report['faults']}"
    )
    print(f"  false incidents             {report['false_incidents']}")
    for case in CASES:
        row = report["by_case"].get(case)
        if row:
            print(
                f"    {case:12} attribution right {row['attributed_right']}/"
                f"{row['cases']}, detected {row['detected']}, false {row['false']}"
            )
