"""The detector interface: one module per detector, each a ``detect(ctx)``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from detection.config import DetectionConfig
from detection.core.slowness import tail_p_value
from detection.core.types import Baseline, Finding, SpanRow
from detection.core.window import EndpointWindow
from detection.core.witness import Witnesses


@dataclass(frozen=True)
class DetectContext:
    now: float
    config: DetectionConfig
    window: EndpointWindow
    baseline: Baseline
    # The endpoint is part of an open incident: the relaxed criteria keep it open.
    in_incident: bool
    # Who vouches that this endpoint should be busy (the silence detector).
    witnesses: Witnesses | None = None
    # A span's own time (duration minus time in its calls), None without calls.
    self_time: Callable[[SpanRow], float | None] = lambda span: None
    # Median latency of the spans new in this cycle; None if there are none.
    cycle_median: float | None = None
    cycle_samples: int = 0

    @property
    def judged_enough(self) -> bool:
        return self.baseline.knows_enough(self.config.min_baseline_samples)


@dataclass(frozen=True)
class Verdict:
    signal: str  # the baseline signal this detector guards: latency, errors, traffic
    finding: Finding | None = None
    # Something looks off (even below the bar for an incident): the signal's
    # baseline must not learn from this cycle.
    suspicious: bool = False


@dataclass(frozen=True)
class Evidence:
    """Spans of one stretch of the window, and those of them that look bad."""

    spans: list[SpanRow]
    bad: list[SpanRow]
    p_value: float = 1.0

    @property
    def fraction(self) -> float:
        return len(self.bad) / len(self.spans) if self.spans else 0.0


# The stretches judged: the whole window (with borrowed spans) and its most recent
# half and quarter. A fault that began seconds before a cycle fills the recent
# stretch long before it dominates the whole window.
SUFFIXES = (1.0, 0.5, 0.25)


def stretches(ctx: DetectContext, is_bad, keep=None) -> list[Evidence]:
    """Evidence of the window's stretches; ``keep`` picks the spans judged."""
    window = ctx.window
    judged = [s for s in window.judged if keep is None or keep(s)]
    result = [Evidence(judged, [s for s in judged if is_bad(s)])]
    length = window.end - window.start
    for share in SUFFIXES[1:]:
        since = window.end - share * length
        recent = [s for s in judged if s.start > since]
        if recent and len(recent) < len(result[-1].spans):
            result.append(Evidence(recent, [s for s in recent if is_bad(s)]))
    return result


def most_significant(
    evidence: list[Evidence],
    *,
    base_rate: float,
    min_bad: int,
    min_fraction: float,
    significance: float,
    dispersion: Callable[[Evidence], float] | None = None,
) -> Evidence | None:
    """The stretch that is least plausible under the base rate, if any passes.

    Testing several stretches is several tests: each gets its share of the
    significance level (Bonferroni), so the false-alarm rate stays as set. Where
    ``dispersion`` says a stretch's bad spans cluster in time, they weigh as fewer
    independent ones (``slowness.tail_p_value``).
    """
    level = significance / len(evidence)
    best: Evidence | None = None
    for item in evidence:
        k = len(item.bad)
        if k < min_bad or item.fraction < min_fraction:
            continue
        spread = dispersion(item) if dispersion is not None else 1.0
        p_value = tail_p_value(k, len(item.spans), base_rate, spread)
        if p_value <= level and (best is None or p_value < best.p_value):
            best = Evidence(item.spans, item.bad, p_value)
    return best


def succeeded(span: SpanRow) -> bool:
    """Latency is judged on requests that succeeded: failures often fail fast (or
    time out), and would drag the learned latency with them."""
    return not span.is_error


def example_traces(spans: list[SpanRow], limit: int) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for span in spans:
        if span.trace_id and span.trace_id not in seen:
            seen[span.trace_id] = None
            if len(seen) >= limit:
                break
    return tuple(seen)


def span_ids(spans: list[SpanRow], limit: int = 200) -> tuple[str, ...]:
    return tuple(s.span_id for s in spans[:limit] if s.span_id)
