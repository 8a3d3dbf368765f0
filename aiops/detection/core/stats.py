"""Small, dependency-free statistics for the detectors."""

from __future__ import annotations

import math
from collections.abc import Sequence


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of already sorted values (q in [0, 1])."""
    if not sorted_values:
        raise ValueError("quantile of no values")
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = position - low
    return sorted_values[low] * (1 - fraction) + sorted_values[high] * fraction


def median(values: Sequence[float]) -> float:
    return quantile(sorted(values), 0.5)


def median_abs_deviation(values: Sequence[float], center: float) -> float:
    return median([abs(v - center) for v in values])


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space from k upwards."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    log_n_fact = math.lgamma(n + 1)
    mode = (n + 1) * p
    total = 0.0
    for j in range(k, n + 1):
        log_term = (
            log_n_fact
            - math.lgamma(j + 1)
            - math.lgamma(n - j + 1)
            + j * log_p
            + (n - j) * log_q
        )
        term = math.exp(log_term)
        total += term
        # Past the mode the terms only shrink; stop once they stop mattering
        # (or underflow: a tail too small to represent is done at once).
        if j > mode and term <= total * 1e-12:
            break
    return min(total, 1.0)


def _poisson_sum(terms: range, mean: float) -> float:
    """Poisson probabilities of ``terms`` (walking away from the mean), summed
    in log space until they stop mattering: a count of millions costs a few
    dozen terms, not millions."""
    total, log_mean = 0.0, math.log(mean)
    for j in terms:
        term = math.exp(j * log_mean - mean - math.lgamma(j + 1))
        total += term
        # The terms only shrink this way: done once they stop mattering, or
        # underflow to nothing (a tail of 1e-400 is 0.0 at once, not after
        # walking 100,000 terms of zeros).
        if term <= total * 1e-12:
            break
    return min(total, 1.0)


def poisson_at_most(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean)."""
    if mean <= 0:
        return 1.0
    if k < 0:
        return 0.0
    if k >= mean:
        return 1.0 - poisson_at_least(k + 1, mean)
    return _poisson_sum(range(k, -1, -1), mean)


def poisson_at_least(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean)."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    if k <= mean:
        return 1.0 - poisson_at_most(k - 1, mean)
    return _poisson_sum(range(k, k + 100_000), mean)


def time_weighted_alpha(alpha: float, elapsed: float, interval: float) -> float:
    """EWMA weight for an update covering ``elapsed`` seconds.

    ``alpha`` is the weight of one full interval; shorter or longer updates (a manual
    cycle between two scheduled ones, a missed cycle) weigh proportionally, so how
    often cycles run does not change how fast a baseline learns.
    """
    if elapsed <= 0 or interval <= 0:
        return 0.0
    return 1.0 - (1.0 - alpha) ** (elapsed / interval)
