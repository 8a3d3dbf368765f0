"""Learning baselines: from stored history for a new endpoint, then from each
cycle's healthy spans."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from aiops.detection.config import DetectionConfig
from aiops.detection.core import slowness
from aiops.detection.core.stats import median, time_weighted_alpha
from aiops.detection.core.types import Baseline, EndpointKey, SpanRow

SIGNALS = ("latency", "shift", "errors", "traffic", "queries", "calls")
# The lowest error rate the error detector tells apart from none (its floor):
# an estimate of a rate this small needs about 1 / rate requests, so a learned
# error rate remembers at least that many requests, however few a cycle holds.
MIN_ERROR_RATE = 0.01
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
    until: float,
    config: DetectionConfig,
) -> Baseline:
    """A starting baseline from an endpoint's stored history (may be empty).

    ``history`` holds (start epoch, duration ms) pairs that started by ``until``
    (where the cycle's own window begins): all a first baseline needs, and a
    fraction of the cost of reading whole spans when a big history is met.
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
    baseline.tail_fraction = _tail_share(logs, level, config)
    # The history covers (oldest start, until]: the window after it is not in it.
    baseline.request_rate = len(history) / max(until - min(starts), config.interval)
    baseline.sample_count = len(history)
    baseline.moment_count = slowness.moments_in(starts)
    baseline.learned_at = now
    baseline.last_seen = max(starts)
    return baseline


def _move(old: float, new: float, weight: float) -> float:
    return old + weight * (new - old)


def holds(baseline: Baseline, signal: str, now: float, config: DetectionConfig) -> bool:
    """Whether ``signal`` is not learned now: suspicious since less than
    ``relearn_after`` ago (a change that lasts longer is the new normal)."""
    since = baseline.suspicious_since.get(signal)
    return since is not None and now - since < config.relearn_after


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
    slow_count: int = 0,
    slow_clustering: float = 1.0,
) -> Baseline:
    """The baseline after one cycle: each signal learns only if it looked healthy.

    ``bucket`` holds the endpoint's spans that became visible since the previous
    cycle. ``suspicious`` signals looked off, ``flagged`` ones produced a finding;
    ``slow_count`` is how many of the bucket's successful requests the latency
    detector calls slow against this baseline. While a signal has been suspicious
    for longer than ``relearn_after`` it learns again, so a change nobody
    reverted becomes the new normal.

    Until the baseline has learned ``min_baseline_samples`` requests (from as
    many distinct seconds, ``Baseline.knows_enough``) nothing is
    judged against it, and it learns every request it sees, pooled: the level is
    the weighted mean of the medians so far, and the tail rate and spread are
    measured against that pooled level (never against a level not learned yet,
    which would make every request look slow). After that, latency (level, tail
    rate, spread) learns only from cycles that are unremarkable against what was
    known before them, so the cycles of a fault that is not yet significant cannot
    teach the baseline to expect it.
    """
    learned = replace(baseline, suspicious_since=dict(baseline.suspicious_since))
    learned.is_new = False
    if bucket:
        newest = max(s.start for s in bucket)
        learned.last_seen = max(newest, baseline.last_seen or newest)

    served = [s for s in bucket if not s.is_error]
    judging = baseline.knows_enough(config.min_baseline_samples)
    remarkable = (
        judging
        and bool(served)
        and slowness.remarkable(slow_count, len(served), baseline, slow_clustering)
    )
    if remarkable:
        # Too slow to learn from, whatever the window-wide detectors made of it.
        suspicious = suspicious | {"latency"}

    blocked = set()
    for signal in SIGNALS:
        if signal in suspicious:
            learned.suspicious_since.setdefault(signal, now)
            if holds(learned, signal, now, config):
                blocked.add(signal)
        else:
            learned.suspicious_since.pop(signal, None)

    alpha = time_weighted_alpha(config.ewma_alpha, elapsed, config.interval)
    if alpha <= 0:
        return learned
    if "traffic" not in blocked:
        # Warming up, the rate is pooled like the rest (a new endpoint's rate
        # does not creep up from zero for minutes, under-stating what its
        # silence would mean).
        rate_weight = alpha
        if not judging and bucket:
            rate_weight = max(
                alpha, len(bucket) / (baseline.sample_count + len(bucket))
            )
        learned.request_rate = _move(
            baseline.request_rate, len(bucket) / elapsed, rate_weight
        )
    if not bucket:
        return learned

    n = len(bucket)
    if "errors" not in blocked:
        errors = sum(1 for s in bucket if s.is_error)
        # Until the baseline has seen enough requests, average them (a cold
        # start converges at once instead of creeping up from zero). After,
        # a cycle weighs as the requests it holds: on a quiet endpoint one
        # failed request is one of the last hundred, not a tenth of the rate
        # (which then hid the fault that began with it).
        weight = max(min(alpha, n * MIN_ERROR_RATE), n / (baseline.sample_count + n))
        learned.error_rate = _move(baseline.error_rate, errors / n, weight)
    if "queries" not in blocked:
        _learn_queries(learned, baseline, bucket, alpha)
    # Latency is learned from the requests that succeeded (see detectors.base).
    if not served:
        return learned
    # Learned without the time of day: the level is what a request would take
    # at a quarter hour with no seasonal pattern.
    durations = deseasonalised(baseline, served)
    logs = [_log(d) for d in durations]
    moments = slowness.moments_in(s.start for s in served)
    if not judging:
        _learn_pooled(learned, baseline, logs, moments, self_times, now, config)
    else:
        _learn_judged(
            learned,
            baseline,
            logs,
            self_times,
            moments=moments,
            now=now,
            elapsed=elapsed,
            relearning="latency" in suspicious and "latency" not in blocked,
            blocked="latency" in blocked,
            slow_share=slow_count / len(served),
            taught="latency" not in flagged and not remarkable,
            config=config,
        )
    _learn_cycle_median(learned, durations, "shift" in blocked, config)
    return learned


def _learn_queries(
    learned: Baseline, baseline: Baseline, bucket: Sequence[SpanRow], alpha: float
) -> None:
    """Queries per request: the median of the cycle's captured requests that
    succeeded (a failure may stop early), pooled until enough are learned."""
    counts = [
        s.query_count for s in bucket if s.query_count is not None and not s.is_error
    ]
    if not counts:
        return
    n = len(counts)
    typical = median(counts)
    weight = max(alpha, n / (baseline.query_samples + n))
    learned.query_level = (
        typical
        if baseline.query_level is None
        else _move(baseline.query_level, typical, weight)
    )
    learned.query_samples = baseline.query_samples + n


def deseasonalised(baseline: Baseline, spans: Sequence[SpanRow]) -> list[float]:
    """The spans' durations as they would be without the time of day.

    Only as much of the expected offset is taken out as the spans show: a
    quarter hour usually 4 x slower (a nightly batch) whose requests are 4 x
    slower is learned as usual, one whose requests are usual (the batch did not
    run) is learned as it is, not as 4 x faster than usual, which would drag the
    level down and make tomorrow's ordinary requests look slow.
    """
    durations = [s.duration_ms for s in spans]
    if baseline.season is None or not durations:
        return durations
    shown = _log(median(durations)) - baseline.log_level
    result = []
    for span, duration in zip(spans, durations, strict=True):
        offset = baseline.season_offset(span.start)
        applied = (
            min(offset, max(shown, 0.0)) if offset > 0 else max(offset, min(shown, 0.0))
        )
        result.append(duration / math.exp(applied))
    return result


def _tail_share(logs: Sequence[float], log_level: float, config: DetectionConfig):
    limit = math.log(slowness.threshold_ms(config, math.exp(log_level)))
    return sum(1 for x in logs if x > limit) / len(logs)


def _learn_pooled(
    learned: Baseline,
    baseline: Baseline,
    logs: Sequence[float],
    moments: int,
    self_times: Sequence[float],
    now: float,
    config: DetectionConfig,
) -> None:
    """A baseline still warming up: every request counts, equally."""
    n = len(logs)
    weight = n / (baseline.sample_count + n)
    level = _move(baseline.log_level, median(logs), weight)
    learned.log_level = level
    learned.log_anchor = level
    # Share and spread of this bucket around the pooled level; the earlier
    # buckets' shares were measured against earlier (close) pooled levels.
    learned.tail_fraction = _move(
        baseline.tail_fraction, _tail_share(logs, level, config), weight
    )
    learned.log_spread = _move(
        baseline.log_spread, median([abs(x - level) for x in logs]), weight
    )
    if self_times:
        typical = median(self_times)
        learned.self_time_ms = (
            typical
            if baseline.self_time_ms is None
            else _move(baseline.self_time_ms, typical, weight)
        )
    learned.sample_count = baseline.sample_count + n
    learned.moment_count = baseline.moment_count + moments
    learned.learned_at = now


def _learn_judged(
    learned: Baseline,
    baseline: Baseline,
    logs: Sequence[float],
    self_times: Sequence[float],
    *,
    moments: int,
    now: float,
    elapsed: float,
    slow_share: float,
    relearning: bool,
    blocked: bool,
    taught: bool,
    config: DetectionConfig,
) -> None:
    """A baseline that judges: learn what the cycle's evidence allows."""
    n = len(logs)
    alpha = time_weighted_alpha(config.ewma_alpha, elapsed, config.interval)
    weight = max(alpha, n / (baseline.sample_count + n))
    # The anchor, own time and tail rate learn about ten times more slowly.
    slow_weight = max(
        time_weighted_alpha(
            config.ewma_alpha, elapsed, ANCHOR_SLOWDOWN * config.interval
        ),
        n / (baseline.sample_count + n),
    )
    if taught or relearning:
        deviation = median([abs(x - baseline.log_level) for x in logs])
        learned.log_spread = _move(baseline.log_spread, deviation, weight)
    if not blocked:
        _learn_level(learned, baseline, logs, self_times, weight, slow_weight)
        learned.sample_count = baseline.sample_count + n
        learned.moment_count = baseline.moment_count + moments
        learned.learned_at = now
    if taught or relearning:
        # The tail rate is judged against the reference it will be compared
        # with next: while the level still moves much (a young baseline, traffic
        # with two modes), the share slow against the old one says little about
        # the new one. The larger of the two, so a fault is never learned as
        # normal because the reference moved up.
        share = max(
            slow_share, _tail_share(logs, math.log(learned.reference_ms), config)
        )
        learned.tail_fraction = _move(baseline.tail_fraction, share, slow_weight)


def _learn_level(
    learned: Baseline,
    baseline: Baseline,
    logs: Sequence[float],
    self_times: Sequence[float],
    weight: float,
    slow_weight: float,
) -> None:
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


def _learn_cycle_median(
    learned: Baseline, durations: list[float], flagged: bool, config: DetectionConfig
) -> None:
    """Long-run mean and variance of the per-cycle median, and the recent medians.

    The variance learns from every cycle: leaving out the unusual ones would make
    the usual look narrower than it is. The mean skips cycles the shift detector
    flagged, so a fault does not pull it along.

    Once an endpoint has had busy cycles (as many requests as a window needs),
    only those teach the mean and variance of the median: the median of one
    request at 3 a.m. is a random request, and a night of them would teach a
    variance (and, with skewed latencies, a mean) that belongs to single
    requests, not to medians, making a busy hour's real shift look ordinary.
    An endpoint that never has busy cycles learns from all of its cycles.
    """
    value = median(durations)
    keep = max((k for k, _ in config.shift_rules), default=1)
    learned.recent_medians = (learned.recent_medians + [value])[-keep:]
    learned.recent_counts = (learned.recent_counts + [len(durations)])[-keep:]
    weight = max(1.0 / config.shift_memory, 1.0 / (learned.cycle_count + 1))
    if len(durations) >= 2:
        mean = sum(durations) / len(durations)
        spread = sum((d - mean) ** 2 for d in durations) / (len(durations) - 1)
        learned.within_var += weight * (spread - learned.within_var)
    busy = len(durations) >= config.min_window_samples
    learned.busy_cycles += int(busy)
    if learned.busy_cycles and not busy:
        return
    # Cycles whose median was learned.
    learned.cycle_count += 1
    weight = max(1.0 / config.shift_memory, 1.0 / learned.cycle_count)
    delta = value - learned.cycle_mean
    if not flagged or learned.cycle_count == 1:
        learned.cycle_mean += weight * delta
    learned.cycle_var = (1 - weight) * (learned.cycle_var + weight * delta * delta)
