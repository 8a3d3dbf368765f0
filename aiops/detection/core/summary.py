"""Per-endpoint summaries of each cycle's new spans: what the charts draw."""

from __future__ import annotations

from dataclasses import dataclass

from aiops.detection.config import DetectionConfig
from aiops.detection.core import slowness
from aiops.detection.core.stats import quantile
from aiops.detection.core.types import Baseline, SpanRow


@dataclass(frozen=True)
class BucketSummary:
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    # The learned latency and the latency_anomaly threshold at that moment.
    baseline_ms: float | None
    threshold_ms: float | None


def summarize(
    bucket: list[SpanRow], baseline: Baseline, config: DetectionConfig
) -> BucketSummary | None:
    if not bucket:
        return None
    durations = sorted(s.duration_ms for s in bucket)
    learned = baseline.sample_count > 0
    # The band follows the time of day (the newest request's quarter hour).
    newest = max(s.start for s in bucket)
    reference = baseline.reference_at(newest) if learned else None
    return BucketSummary(
        requests=len(bucket),
        errors=sum(1 for s in bucket if s.is_error),
        p50_ms=quantile(durations, 0.5),
        p95_ms=quantile(durations, 0.95),
        p99_ms=quantile(durations, 0.99),
        baseline_ms=reference,
        threshold_ms=slowness.threshold_ms(config, reference) if reference else None,
    )
