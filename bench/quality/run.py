#!/usr/bin/env python3
"""Detection-quality benchmark: synthetic faults, NAB and Nezha, all through ``replay``.

    .venv/bin/python bench/quality/run.py            # everything (about 25 minutes)
    .venv/bin/python bench/quality/run.py --part nab # or synthetic, or nezha
    .venv/bin/python bench/quality/run.py --quick    # 1 seed, 1 NAB file a category
    .venv/bin/python bench/quality/run.py --part seasonal --days 3  # first 3 days

Prints the tables and writes bench/quality/out/last.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.quality import deploys, nab, nezha, scenarios, seasonal  # noqa: E402
from bench.quality.scoring import (  # noqa: E402
    nab_file_score,
    nab_normalized,
    score_scenario,
    summarize,
)

OUT = ROOT / "bench" / "quality" / "out"


def replay(
    lines: list[str], interval: float, work: Path, name: str
) -> tuple[list[dict], float]:
    """Run ``manage.py replay`` on the lines; (incidents, seconds)."""
    spans = work / f"{name}.jsonl"
    spans.write_text("\n".join(lines) + "\n")
    try:
        return replay_path(spans, interval, work, name)
    finally:
        spans.unlink()


def replay_path(
    spans: Path, interval: float, work: Path, name: str
) -> tuple[list[dict], float]:
    """Run ``manage.py replay`` on a span file; (incidents, seconds)."""
    incidents = work / f"{name}.incidents.jsonl"
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "replay",
            str(spans),
            "--interval",
            str(interval),
            "--output",
            str(incidents),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise RuntimeError(f"replay of {name} failed:\n{result.stderr[-2000:]}")
    elapsed = time.perf_counter() - started
    return [json.loads(line) for line in incidents.read_text().splitlines()], elapsed


def run_synthetic(jobs: int, quick: bool, work: Path) -> dict:
    chosen = scenarios.fault_scenarios(seeds=(1,) if quick else (1, 2))
    chosen += scenarios.quiet_scenarios(hours=2.0 if quick else 8.0)

    def one(scenario):
        lines = [json.dumps(s) for s in scenario.spans()]
        incidents, seconds = replay(lines, 30, work, scenario.name)
        return scenario, incidents, seconds, len(lines)

    with ThreadPoolExecutor(jobs) as pool:
        outcomes = list(pool.map(one, chosen))
    results = [score_scenario(s, incidents) for s, incidents, _, _ in outcomes]
    summary = summarize(results)
    by_kind: dict[str, list] = {}
    for result in results:
        for fault in result.faults:
            family = "callee" if "silent-callee" in fault.scenario else fault.kind
            by_kind.setdefault(family, []).append(fault)
    summary["by_kind"] = {
        kind: {
            "faults": len(faults),
            "detected": sum(f.detected for f in faults),
            "root_correct": sum(f.root_correct for f in faults),
            "median_ttd_s": sorted(f.time_to_detect for f in faults if f.detected)[
                sum(f.detected for f in faults) // 2
            ]
            if any(f.detected for f in faults)
            else None,
        }
        for kind, faults in sorted(by_kind.items())
    }
    summary["misses"] = [
        f"{f.scenario}: {f.kind} {f.target}"
        for r in results
        for f in r.faults
        if not f.detected or not f.root_correct
    ]
    summary["duplicates"] = [
        f"{f.scenario}: {f.kind} {f.target} -> {f.incidents} incidents"
        for r in results
        for f in r.faults
        if f.incidents > 1
    ]
    summary["false_incident_titles"] = [
        f"{s.name}: {i['title']} at {i['first_detected']}"
        for s, incidents, _, _ in outcomes
        for i in incidents
        if not any(
            f.start <= _epoch(i["first_detected"]) <= f.end + 300 for f in s.faults
        )
    ][:20]
    summary["spans"] = sum(n for *_, n in outcomes)
    summary["replay_seconds"] = round(sum(sec for _, _, sec, _ in outcomes), 1)
    return summary


def run_deploys(jobs: int, quick: bool, work: Path) -> dict:
    chosen = deploys.deploy_scenarios(seeds=(1,) if quick else (1, 2))

    def one(case):
        lines = [json.dumps(s) for s in case.scenario.spans()]
        lines += [json.dumps(c) for c in case.scenario.change_lines()]
        incidents, _ = replay(lines, 30, work, case.scenario.name)
        return case, incidents

    with ThreadPoolExecutor(jobs) as pool:
        outcomes = list(pool.map(one, chosen))
    return deploys.score(outcomes)


def run_seasonal(work: Path, days: int = seasonal.DAYS) -> dict:
    chosen = seasonal.scenario(days)
    lines = [json.dumps(s) for s in chosen.spans()]
    incidents, seconds = replay(lines, 30, work, chosen.name)
    report = seasonal.score(chosen, incidents)
    report["days"] = days
    # Every incident in full (anomalies, detector, evidence), for diagnosing.
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"seasonal-incidents-{days}d.jsonl").write_text(
        "".join(json.dumps(i) + "\n" for i in incidents)
    )
    report["spans"] = len(lines)
    report["replay_seconds"] = round(seconds, 1)
    return report


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def run_nab(jobs: int, quick: bool, work: Path) -> dict:
    series = nab.load()
    if quick:
        seen, picked = set(), []
        for s in series:
            category = s.name.split("/")[0]
            if category not in seen:
                seen.add(category)
                picked.append(s)
        series = picked
    cost_profiles = nab.costs()

    def one(s):
        incidents, seconds = replay(nab.span_lines(s), s.step, work, s.endpoint)
        return s, [_epoch(i["first_detected"]) for i in incidents], seconds

    with ThreadPoolExecutor(jobs) as pool:
        outcomes = list(pool.map(one, series))
    windows = sum(len(s.windows) for s in series)
    report: dict = {"files": len(series), "windows": windows, "profiles": {}}
    for detector in ("ours", "prototype"):
        for profile, cost in cost_profiles.items():
            total, hits, fps = 0.0, 0, 0
            for s, detections, _ in outcomes:
                if detector == "prototype":
                    detections = nab.prototype_detections(s)
                score, hit, fp = nab_file_score(
                    s.timestamps, s.windows, detections, cost
                )
                total, hits, fps = total + score, hits + hit, fps + fp
            report["profiles"].setdefault(detector, {})[profile] = round(
                nab_normalized(total, windows, cost), 1
            )
            report.setdefault("hits", {})[detector] = hits
            report.setdefault("false_positives", {})[detector] = fps
    days = sum((s.timestamps[-1] - s.timestamps[0]) / 86400 for s in series)
    report["false_per_series_day"] = {
        d: round(report["false_positives"][d] / days, 3) for d in ("ours", "prototype")
    }
    report["per_file"] = {
        s.name: {
            "windows": len(s.windows),
            "hit": nab_file_score(
                s.timestamps, s.windows, d, cost_profiles["standard"]
            )[1],
            "fp": nab_file_score(s.timestamps, s.windows, d, cost_profiles["standard"])[
                2
            ],
            "detections": len(d),
        }
        for s, d, _ in outcomes
    }
    report["replay_seconds"] = round(sum(sec for *_, sec in outcomes), 1)
    return report


def run_nezha(jobs: int, quick: bool, cache: Path) -> dict:
    chosen = nezha.cases()
    if quick:
        chosen = chosen[::4]
    nezha.build(cache, chosen)

    def one(case):
        incidents, seconds = replay_path(
            cache / f"{case.name}.jsonl", 30, cache, case.name
        )
        return nezha.score_case(case, incidents), seconds

    with ThreadPoolExecutor(jobs) as pool:
        outcomes = list(pool.map(one, chosen))
    report = nezha.summarize([r for r, _ in outcomes])
    report["replay_seconds"] = round(sum(sec for _, sec in outcomes), 1)
    return report


def print_tables(report: dict) -> None:
    if "synthetic" in report:
        s = report["synthetic"]
        print("\nSynthetic scenarios (replay, 30 s cycles)")
        print(f"  faults                      {s['faults']}")
        print(f"  recall                      {s['recall']:.1%}")
        ttd = f"{s['median_ttd_s']} s / {s['worst_ttd_s']} s"
        print(f"  median / worst time to detect  {ttd}")
        print(f"  root cause accuracy @1      {s['rca_at_1']:.1%}")
        top3 = f"{s['rca_at_3']:.1%}"
        print(f"  root cause accuracy @3      {top3}  (root_cause.candidates)")
        print(f"  incidents per fault         {s['incidents_per_fault']:.2f}")
        print(
            f"  false incidents per hour    {s['false_per_hour']:.3f}"
            f"  ({s['false_incidents']} in {s['fault_free_hours']:.1f} fault-free h)"
        )
        for kind, k in s["by_kind"].items():
            print(
                f"    {kind:8} detected {k['detected']}/{k['faults']}, root right "
                f"{k['root_correct']}, median TTD {k['median_ttd_s']} s"
            )
    if "nab" in report:
        n = report["nab"]
        print(f"\nNAB development half ({n['files']} files, {n['windows']} windows)")
        print(f"  {'profile':20} {'ours':>8} {'prototype':>10}")
        for profile in n["profiles"]["ours"]:
            print(
                f"  {profile:20} {n['profiles']['ours'][profile]:8.1f} "
                f"{n['profiles']['prototype'][profile]:10.1f}"
            )
        hits = n["hits"]
        print(f"  {'windows hit':20} {hits['ours']:8} {hits['prototype']:10}")
        print(
            f"  {'false / series-day':20} {n['false_per_series_day']['ours']:8} "
            f"{n['false_per_series_day']['prototype']:10}"
        )
    if "deploys" in report:
        deploys.print_table(report["deploys"])
    if "seasonal" in report:
        seasonal.print_table(report["seasonal"])
    if "nezha" in report:
        nezha.print_table(report["nezha"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--part",
        choices=["all", "synthetic", "deploys", "seasonal", "nab", "nezha"],
        default="all",
    )
    parser.add_argument(
        "--cases",
        type=Path,
        default=Path(tempfile.gettempdir()) / "aiops-nezha-ob",
        help="where the Nezha replay files are built once and kept (2 GB)",
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--days",
        type=int,
        default=seasonal.DAYS,
        help="seasonal: replay only the first DAYS days (3: the first nights, ~8 min)",
    )
    args = parser.parse_args()
    report: dict = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="aiops-quality-") as scratch:
        work = Path(scratch)
        if args.part in ("all", "synthetic"):
            report["synthetic"] = run_synthetic(args.jobs, args.quick, work)
        if args.part in ("all", "deploys"):
            report["deploys"] = run_deploys(args.jobs, args.quick, work)
        if args.part in ("all", "seasonal"):
            report["seasonal"] = run_seasonal(work, args.days)
        if args.part in ("all", "nab"):
            report["nab"] = run_nab(args.jobs, args.quick, work)
        if args.part in ("all", "nezha"):
            report["nezha"] = run_nezha(args.jobs, args.quick, args.cases)
    report["seconds"] = round(time.perf_counter() - started, 1)
    print_tables(report)
    OUT.mkdir(parents=True, exist_ok=True)
    name = "last.json" if args.part == "all" else f"last-{args.part}.json"
    if args.quick:
        name = name.replace(".json", "-quick.json")
    if args.days != seasonal.DAYS:
        name = name.replace(".json", f"-{args.days}d.json")
    (OUT / name).write_text(json.dumps(report, indent=2, default=str))
    print(f"\n({report['seconds']} s; details in {OUT / name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
