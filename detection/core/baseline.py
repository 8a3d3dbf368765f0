"""Learning baselines: from stored history for a new endpoint, then from each
cycle's healthy spans."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from detection.config import DetectionConfig
from detection.core.stats import median, time_weighted_alpha
from detection.core.types import Baseline, EndpointKey, SpanRow

SIGNALS = ("latency", "errors", "traffic")


def _log(duration_ms: float) -> float:
    # Durations of 0 exist (clock resolution); a microsecond floor keeps logs finite.
    return math.log(max(duration_ms, 0.001))


def bootstrap(
    key: EndpointKey, history: Sequence[SpanRow], *, now: float, config: DetectionConfig
) -> Baseline:
    """A starting baseline from an endpoint's stored history (may be empty).

    Error rates start at zero: an endpoint that fails from its first request is a
    finding, not a norm. Latency and traffic start from what history shows.
    """
    baseline = Baseline(key=key, is_new=True)
    if not history:
        return baseline
    logs = [_log(s.duration_ms) for s in history]
    level = median(logs)
    first = min(s.start for s in history)
    baseline.log_level = level
    baseline.log_spread = median([abs(x - level) for x in logs])
    threshold = level + math.log(config.latency_ratio)
    baseline.tail_fraction = sum(1 for x in logs if x > threshold) / len(logs)
    baseline.request_rate = len(history) / max(now - first, config.effective_window)
    baseline.sample_count = len(history)
    baseline.learned_at = now
    baseline.last_seen = max(s.start for s in history)
    return baseline


def _move(old: float, new: float, weight: float) -> float:
    return old + weight * (new - old)


def learn(
    baseline: Baseline,
    bucket: Sequence[SpanRow],
    *,
    self_times: Sequence[float],
    elapsed: float,
    now: float,
    suspicious: set[str],
    config: DetectionConfig,
) -> Baseline:
    """The baseline after one cycle: each signal learns only if it looked healthy.

    ``bucket`` holds the endpoint's spans that are new since the previous cycle.
    While a signal has been suspicious for longer than ``relearn_after`` it learns
    again, so a change nobody reverted becomes the new normal.
    """
    learned = replace(baseline, suspicious_since=dict(baseline.suspicious_since))
    learned.is_new = False
    if bucket:
        newest = max(s.start for s in bucket)
        learned.last_seen = max(newest, baseline.last_seen or newest)

    blocked = set()
    for signal in SIGNALS:
        if signal in suspicious:
            since = learned.suspicious_since.setdefault(signal, now)
            if now - since < config.relearn_after:
                blocked.add(signal)
        else:
            learned.suspicious_since.pop(signal, None)

    alpha = time_weighted_alpha(config.ewma_alpha, elapsed, config.interval)
    if alpha <= 0:
        return learned
    if "traffic" not in blocked:
        learned.request_rate = _move(
            baseline.request_rate, len(bucket) / elapsed, alpha
        )
    if not bucket:
        return learned

    n = len(bucket)
    # Until the baseline has seen enough requests, average them (a cold start
    # converges at once instead of creeping up from zero).
    weight = max(alpha, n / (baseline.sample_count + n))
    if "errors" not in blocked:
        errors = sum(1 for s in bucket if s.is_error)
        learned.error_rate = _move(baseline.error_rate, errors / n, weight)
    if "latency" not in blocked:
        logs = [_log(s.duration_ms) for s in bucket]
        center = median(logs)
        level = _move(baseline.log_level, center, weight)
        deviation = median([abs(x - level) for x in logs])
        threshold = level + math.log(config.latency_ratio)
        above = sum(1 for x in logs if x > threshold) / n
        learned.log_level = level
        learned.log_spread = _move(baseline.log_spread, deviation, weight)
        learned.tail_fraction = _move(baseline.tail_fraction, above, weight)
        if self_times:
            typical = median(self_times)
            learned.self_time_ms = (
                typical
                if baseline.self_time_ms is None
                else _move(baseline.self_time_ms, typical, weight)
            )
        learned.sample_count = baseline.sample_count + n
        learned.learned_at = now
    return learned
