"""Latency percentiles over many short slices, pooled, with a bootstrap interval.

A slice of 3 s at 1,000 requests/s has 30 requests above its p99, so a per-slice
p99 (and the median of those over the slices) moves by milliseconds from run to
run. Each slice keeps its latency distribution as QUANTILES evenly spaced
quantiles instead; the slices of one variant are then pooled into one distribution
(each point weighted by its slice's requests), whose p99 rests on hundreds of
requests. The interval comes from resampling whole slices, the same slices for
both variants, since the slices of one moment share that moment's machine speed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

QUANTILES = 1000


def quantiles_of(latencies: Sequence[float]) -> list[float]:
    """QUANTILES points of a latency sample: the (i + 0.5) / QUANTILES quantiles."""
    ordered = sorted(latencies)
    count = len(ordered)
    return [
        ordered[min(count - 1, int((i + 0.5) * count / QUANTILES))]
        for i in range(QUANTILES)
    ]


class Pooled:
    """The slices of one variant as one distribution; slices may count repeatedly."""

    def __init__(self, slices: Sequence[dict]) -> None:
        # Each slice: {"requests": n, "quantiles_ms": [...]}; a point stands for
        # n / len(quantiles) requests.
        self.requests = [s["requests"] for s in slices]
        self.weights = [s["requests"] / len(s["quantiles_ms"]) for s in slices]
        self.points = sorted(
            (
                (value, index)
                for index, s in enumerate(slices)
                for value in s["quantiles_ms"]
            ),
            reverse=True,
        )

    def upper_quantile(self, q: float, times: Sequence[int] | None = None) -> float:
        """The q-quantile (q near 1) with slice i counted times[i] times."""
        times = times or [1] * len(self.weights)
        total = sum(n * t for n, t in zip(self.requests, times, strict=True))
        above, seen = (1.0 - q) * total, 0.0
        for value, index in self.points:
            seen += self.weights[index] * times[index]
            if seen >= above:
                return value
        return self.points[-1][0]


def added_p99(
    mine: Pooled, theirs: Pooled, *, rounds: int = 1000, seed: int = 5
) -> tuple[float, float, float]:
    """Pooled p99 of ``mine`` minus that of ``theirs`` (paired slices), and the 5th
    and 95th percentiles of that difference over bootstrap resamples of the slices."""
    added = mine.upper_quantile(0.99) - theirs.upper_quantile(0.99)
    rng = random.Random(seed)
    count = len(mine.requests)
    spread = []
    for _ in range(rounds):
        times = [0] * count
        for _ in range(count):
            times[rng.randrange(count)] += 1
        spread.append(
            mine.upper_quantile(0.99, times) - theirs.upper_quantile(0.99, times)
        )
    spread.sort()
    return added, spread[int(0.05 * rounds)], spread[int(0.95 * rounds) - 1]
