"""Learning baselines: from stored history for a new endpoint, then from each
cycle's healthy spans."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from detection.config import DetectionConfig
from detection.core.stats import median, time_weighted_alpha
from detection.core.types import Baseline, EndpointKey, SpanRow

SIGNALS = ("latency", "shift", "errors", "traffic")
# The anchor level learns this many times more slowly than the level.
ANCHOR_SLOWDOWN = 12


def _log(duration_ms: float) -> float:
    # Durations of 0 exist (clock resolution); a microsecond floor keeps logs finite.
    return math.log(max(duration_ms, 0.001))


def bootstrap(
    key: EndpointKey,
    history: Sequence[tuple[float, float]],
    *,
    now: float,
    config: DetectionConfig,
) -> Baseline:
    """A starting baseline from an endpoint's stored history (may be empty).

    ``history`` holds (start epoch, duration ms) pairs: all a first baseline needs,
    and a fraction of the cost of reading whole spans when a big history is met.
    Error rates start at zero: an endpoint that fails from its first request is a
    finding, not a norm. Latency and traffic start from what history shows.
    """
    baseline = Baseline(key=key, is_new=True)
    if not history:
        return baseline
    starts = [start for start, _ in history]
    logs = [_log(duration) for _, duration in history]
    level = median(logs)
    baseline.log_level = level
    baseline.log_anchor = level
    baseline.log_spread = median([abs(x - level) for x in logs])
    threshold = level + math.log(config.latency_ratio)
    baseline.tail_fraction = sum(1 for x in logs if x > threshold) / len(logs)
    baseline.request_rate = len(history) / max(
        now - min(starts), config.effective_window
    )
    baseline.sample_count = len(history)
    baseline.learned_at = now
    baseline.last_seen = max(starts)
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
    flagged: set[str] = frozenset(),
    slow_share: float | None = None,
) -> Baseline:
    """The baseline after one cycle: each signal learns only if it looked healthy.

    ``bucket`` holds the endpoint's spans that are new since the previous cycle.
    ``suspicious`` signals looked off, ``flagged`` ones produced a finding;
    ``slow_share`` is the share of the bucket the latency detector calls slow. While a
    signal has been suspicious for longer than ``relearn_after`` it learns again, so
    a change nobody reverted becomes the new normal.
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
    # The anchor, own time and tail rate learn about ten times more slowly.
    slow_weight = max(
        time_weighted_alpha(
            config.ewma_alpha, elapsed, ANCHOR_SLOWDOWN * config.interval
        ),
        n / (baseline.sample_count + n),
    )
    if "errors" not in blocked:
        errors = sum(1 for s in bucket if s.is_error)
        learned.error_rate = _move(baseline.error_rate, errors / n, weight)
    # Latency is learned from the requests that succeeded (see detectors.base).
    served = [s for s in bucket if not s.is_error]
    if not served:
        return learned
    n = len(served)
    logs = [_log(s.duration_ms) for s in served]
    if "latency" not in flagged or "latency" not in blocked:
        # How often healthy requests are "slow" is learned from every cycle that
        # raised no finding, suspicious or not (leaving out the cycles that happen
        # to hold a few slow requests would teach a rate that is too low), and
        # slowly, so that a slowdown creeping in cannot teach it in time.
        if slow_share is None:
            threshold = math.log(baseline.reference_ms * config.latency_ratio)
            slow_share = sum(1 for x in logs if x > threshold) / n
        learned.tail_fraction = _move(baseline.tail_fraction, slow_share, slow_weight)
        # The spread, for the same reason: how far requests stray from the level.
        deviation = median([abs(x - baseline.log_level) for x in logs])
        learned.log_spread = _move(baseline.log_spread, deviation, weight)
    _learn_cycle_median(
        learned, [s.duration_ms for s in served], "shift" in blocked, config
    )
    if "latency" not in blocked:
        center = median(logs)
        learned.log_level = _move(baseline.log_level, center, weight)
        anchor = baseline.log_anchor if baseline.log_anchor is not None else center
        learned.log_anchor = _move(anchor, center, slow_weight)
        if self_times:
            # Own time learns as slowly as the anchor: a creeping slowdown in an
            # endpoint's own code must not become its norm within minutes.
            typical = median(self_times)
            learned.self_time_ms = (
                typical
                if baseline.self_time_ms is None
                else _move(baseline.self_time_ms, typical, slow_weight)
            )
        learned.sample_count = baseline.sample_count + n
        learned.learned_at = now
    return learned


def _learn_cycle_median(
    learned: Baseline, durations: list[float], flagged: bool, config: DetectionConfig
) -> None:
    """Long-run mean and variance of the per-cycle median, and the recent medians.

    The variance learns from every cycle: leaving out the unusual ones would make
    the usual look narrower than it is. The mean skips cycles the shift detector
    flagged, so a fault does not pull it along.
    """
    value = median(durations)
    keep = max((k for k, _ in config.shift_rules), default=1)
    learned.recent_medians = (learned.recent_medians + [value])[-keep:]
    learned.recent_counts = (learned.recent_counts + [len(durations)])[-keep:]
    learned.cycle_count += 1
    weight = max(1.0 / config.shift_memory, 1.0 / learned.cycle_count)
    if len(durations) >= 2:
        mean = sum(durations) / len(durations)
        spread = sum((d - mean) ** 2 for d in durations) / (len(durations) - 1)
        learned.within_var += weight * (spread - learned.within_var)
    delta = value - learned.cycle_mean
    if not flagged or learned.cycle_count == 1:
        learned.cycle_mean += weight * delta
    learned.cycle_var = (1 - weight) * (learned.cycle_var + weight * delta * delta)
