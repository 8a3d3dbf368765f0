"""What "a slow request" means: one formula for the detector, learning and charts.

A request is slow when it took ``latency_ratio`` times the reference latency (and
at least ``latency_min_delta_ms`` more), or when its own time (without the calls
it made) took that many times the learned own time and that alone added a
quarter of the usual latency. How often healthy requests are slow by this
definition is the baseline's tail rate, which the latency detector tests
against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aiops.detection.config import DetectionConfig
from aiops.detection.core.stats import binomial_tail
from aiops.detection.core.types import Baseline, SpanRow

# Slow requests that come in bursts (a GC pause, a CPU quota period, a noisy
# neighbour's spike) slow every request in flight for a moment: they are one
# event, not many independent ones. The requests are cut into moments this long
# to measure how clustered their slowness is.
MOMENT_SECONDS = 1.0

# Healthy endpoints are assumed to be this slow this often, at least, so that a
# baseline learned from very regular traffic does not make any blip significant.
MIN_TAIL_FRACTION = 0.01
# Own time must add at least this share of the usual latency to count.
MIN_OWN_SHARE = 0.25
# A rate never seen in n independent trials may still be up to this / n (95 %
# upper bound, the "rule of three").
UNSEEN_TAIL = 3.0
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
    if baseline.season is not None:
        # Each request against what is usual at the time it started.
        def over_limit(span: SpanRow) -> bool:
            return span.duration_ms > threshold_ms(
                config, baseline.reference_at(span.start)
            )
    else:

        def over_limit(span: SpanRow) -> bool:
            return span.duration_ms > total_limit

    own_limit = own_threshold_ms(config, baseline)
    if own_limit is None:
        return over_limit, False

    def is_slow(span: SpanRow) -> bool:
        if over_limit(span):
            return True
        own_time = self_time(span)
        return own_time is not None and own_time > own_limit

    return is_slow, True


def moments_in(starts: Iterable[float]) -> int:
    """In how many distinct moments these requests started."""
    return len({int(start // MOMENT_SECONDS) for start in starts})


def tail_rate(baseline: Baseline) -> float:
    """The share of healthy requests expected to be slow: the learned tail rate,
    never below the floor, nor below what the baseline's evidence cannot rule
    out (none slow among n independent trials still allows a rate up to about
    3/n, the "rule of three"): a young baseline that saw twenty calm requests
    does not yet know that one request in ten is slow.

    The trials are moments, not requests: slowness comes in bursts that take
    every request of a moment (a pause, a CPU quota), so calm requests from a
    few seconds say only that those seconds were calm. A baseline learned from
    requests spread over minutes reaches the floor within them; one learned
    from a burst waits until it has seen enough seconds.
    """
    trials = min(baseline.sample_count, baseline.moment_count)
    return max(
        baseline.tail_fraction,
        MIN_TAIL_FRACTION,
        UNSEEN_TAIL / max(trials, 1),
    )


def clustering(spans: list[SpanRow], slow: list[SpanRow]) -> float:
    """How much more the slow share varies from moment to moment than it would if
    requests were slow independently (Pearson's dispersion, at least 1).

    Slow requests spread evenly (the usual tail) give about 1. Bursts that slow
    the requests of one moment and spare the next give more: counted as
    independent evidence, one pause would look like a fault. The moments of the
    latest unbroken run of slow ones are left out of the measure: a fault that
    began there is a change of level, not a burst, and must keep its weight.
    """
    if not slow:
        return 1.0
    moments: dict[int, list[int]] = {}
    for span in spans:
        counts = moments.setdefault(int(span.start // MOMENT_SECONDS), [0, 0])
        counts[0] += 1
    for span in slow:
        moments[int(span.start // MOMENT_SECONDS)][1] += 1
    ordered = [moments[m] for m in sorted(moments)]
    while ordered and ordered[-1][1]:
        ordered.pop()
    requests = sum(n for n, _ in ordered)
    slow_total = sum(k for _, k in ordered)
    if len(ordered) < 2 or not 0 < slow_total < requests:
        return 1.0
    share = slow_total / requests
    spread = share * (1.0 - share)
    chi2 = sum((k - n * share) ** 2 / (n * spread) for n, k in ordered)
    # Clustering can at most make a moment's requests count as one: the
    # dispersion never exceeds the requests per moment.
    return max(1.0, min(chi2 / (len(ordered) - 1), requests / len(ordered)))


def tail_p_value(slow: int, total: int, rate: float, dispersion: float = 1.0) -> float:
    """How unlikely ``slow`` of ``total`` requests are under the tail ``rate``,
    each burst of clustered slowness counted once (requests divided by the
    dispersion, as a quasi-binomial test does)."""
    if dispersion > 1.0:
        slow = int(slow / dispersion + 0.5)
        total = max(1, int(total / dispersion + 0.5))
    return binomial_tail(slow, total, rate)


def remarkable(
    slow: int, total: int, baseline: Baseline, dispersion: float = 1.0
) -> bool:
    """Too many slow requests for the learned tail rate to learn from."""
    return tail_p_value(slow, total, tail_rate(baseline), dispersion) < (
        LEARN_SIGNIFICANCE
    )
