"""NAB's development half through ``replay``: one series = one endpoint."""

from __future__ import annotations

import csv
import json
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.quality.scoring import NabCost

NAB = Path(__file__).resolve().parents[3] / "shared" / "data" / "nab"


@dataclass
class Series:
    name: str  # "<category>/<file>.csv"
    timestamps: list[float]
    values: list[float]
    windows: list[tuple[float, float]]

    @property
    def step(self) -> float:
        """The series' usual spacing, which becomes the replay interval."""
        gaps = [
            b - a for a, b in zip(self.timestamps, self.timestamps[1:], strict=False)
        ]
        return statistics.median(gaps)

    @property
    def endpoint(self) -> str:
        return self.name.split("/", 1)[1].removesuffix(".csv")


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def load(nab: Path = NAB) -> list[Series]:
    windows = json.loads((nab / "windows.json").read_text())
    series = []
    for name in sorted(windows):
        with open(nab / "data" / name) as handle:
            rows = list(csv.DictReader(handle))
        values = [float(r["value"]) for r in rows]
        lowest = min(values)
        if lowest < 0:  # art_daily_flatmiddle: durations cannot be negative
            values = [v - lowest for v in values]
        series.append(
            Series(
                name,
                [_epoch(r["timestamp"]) for r in rows],
                values,
                [(_epoch(a), _epoch(b)) for a, b in windows[name]],
            )
        )
    return series


def costs(nab: Path = NAB) -> dict[str, NabCost]:
    profiles = json.loads((nab / "profiles.json").read_text())
    return {
        name: NabCost(
            tp=p["CostMatrix"]["tpWeight"],
            fn=p["CostMatrix"]["fnWeight"],
            fp=p["CostMatrix"]["fpWeight"],
        )
        for name, p in profiles.items()
    }


def span_lines(series: Series) -> list[str]:
    return [
        json.dumps(
            {
                "ts": ts,
                "service": "nab",
                "endpoint": series.endpoint,
                "status": 200,
                "duration_ms": value,
            }
        )
        for ts, value in zip(series.timestamps, series.values, strict=True)
    ]


def prototype_detections(series: Series, alpha: float = 0.1, ratio: float = 3.0):
    """The Flask prototype's rule: value > 3 x EWMA baseline, every time it holds."""
    detections = []
    baseline = series.values[0]
    for ts, value in zip(series.timestamps, series.values, strict=True):
        if value > ratio * baseline:
            detections.append(ts)
        baseline = (1 - alpha) * baseline + alpha * value
    return detections
