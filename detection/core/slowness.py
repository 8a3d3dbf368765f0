"""What "a slow request" means: one formula for the detector, learning and charts.

A request is slow when it took ``latency_ratio`` times the reference latency (and
at least ``latency_min_delta_ms`` more), or when its own time (without the calls
it made) took that many times the learned own time and that alone added a
quarter of the usual latency. How often healthy requests are slow by this
definition is the baseline's tail rate, which the latency detector tests
against.
"""

from __future__ import annotations

from collections.abc import Callable

from detection.config import DetectionConfig
from detection.core.stats import binomial_tail
from detection.core.types import Baseline, SpanRow

# Healthy endpoints are assumed to be this slow this often, at least, so that a
# baseline learned from very regular traffic does not make any blip significant.
MIN_TAIL_FRACTION = 0.01
# Own time must add at least this share of the usual latency to count.
MIN_OWN_SHARE = 0.25
# A cycle whose slow requests are this unlikely under the learned tail rate is
# remarkable: the tail rate and the spread do not learn from it. Loose on
# purpose: leaving out only the rarest healthy cycles keeps the learned rate
# nearly unbiased, while a fault's cycles (far below this) teach it nothing.
LEARN_SIGNIFICANCE = 1e-3


def threshold_ms(config: DetectionConfig, reference_ms: float) -> float:
    """Latency above which a request counts as slow."""
    return max(
        reference_ms * config.latency_ratio, reference_ms + config.latency_min_delta_ms
    )


def own_threshold_ms(config: DetectionConfig, baseline: Baseline) -> float | None:
    own = baseline.self_time_ms
    if not own or own <= 0:
        return None
    return max(
        own * config.latency_ratio,
        own + MIN_OWN_SHARE * baseline.reference_ms,
        own + config.latency_min_delta_ms,
    )


def slow_predicate(
    config: DetectionConfig,
    baseline: Baseline,
    self_time: Callable[[SpanRow], float | None],
) -> tuple[Callable[[SpanRow], bool], bool]:
    """The predicate "this request was slow", and whether own time is judged."""
    total_limit = threshold_ms(config, baseline.reference_ms)
    own_limit = own_threshold_ms(config, baseline)
    if own_limit is None:
        return (lambda s: s.duration_ms > total_limit), False

    def is_slow(span: SpanRow) -> bool:
        if span.duration_ms > total_limit:
            return True
        own_time = self_time(span)
        return own_time is not None and own_time > own_limit

    return is_slow, True


def tail_rate(baseline: Baseline) -> float:
    """The share of healthy requests expected to be slow (never below the floor)."""
    return max(baseline.tail_fraction, MIN_TAIL_FRACTION)


def remarkable(slow: int, total: int, baseline: Baseline) -> bool:
    """Too many slow requests for the learned tail rate to learn from."""
    return binomial_tail(slow, total, tail_rate(baseline)) < LEARN_SIGNIFICANCE
