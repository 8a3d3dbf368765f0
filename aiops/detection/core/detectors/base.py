"""The detector interface: one module per detector, each a ``detect(ctx)``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiops.detection.config import DetectionConfig
from aiops.detection.core.slowness import tail_p_value
from aiops.detection.core.types import Baseline, Finding, SpanRow
from aiops.detection.core.window import EndpointWindow
from aiops.detection.core.witness import Witnesses


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
    # Where this cycle's new spans begin (the previous cycle, or the window's
    # start after a gap); None outside a cycle.
    bucket_start: float | None = None
    # Detectors judged on counts over stretches of time (silence, traffic)
    # judge only stretches that begin at or after this moment: an operator
    # resolved what came before (``analyze._judged_since``).
    evidence_since: float | None = None

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


# Versions side by side: a rolling deploy or a canary has two or three. More
# than this in one window is no deploy to compare (and a client could send any
# number): nothing is compared.
MAX_VERSIONS_SIDE_BY_SIDE = 5


def worst_version(
    evidence: Evidence,
    *,
    floor: float,
    min_bad: int,
    min_fraction: float,
    significance: float,
) -> tuple[str, Evidence, Evidence] | None:
    """With several versions of the service serving side by side (a canary, a
    rolling deploy half done), the version whose requests are bad significantly
    more often than the other versions' together: (version, its evidence, the
    others'). The version must pass the endpoint's own bar (``min_bad``,
    ``min_fraction``) on its requests alone; its rate is tested against the
    others' (at least ``floor``), each version a test of its own (Bonferroni).
    """
    served: dict[str, list[SpanRow]] = {}
    for span in evidence.spans:
        served.setdefault(span.version, []).append(span)
    if not 2 <= len(served) <= MAX_VERSIONS_SIDE_BY_SIDE or "" in served:
        return None
    bad: dict[str, list[SpanRow]] = {}
    for span in evidence.bad:
        bad.setdefault(span.version, []).append(span)
    level = significance / len(served)
    best = None
    for version, mine in served.items():
        ours = Evidence(mine, bad.get(version, []))
        if len(ours.bad) < min_bad or ours.fraction < min_fraction:
            continue
        others = len(evidence.spans) - len(mine)
        rate = max((len(evidence.bad) - len(ours.bad)) / others, floor)
        p_value = tail_p_value(len(ours.bad), len(mine), rate)
        if p_value <= level and (best is None or p_value < best[1].p_value):
            best = (version, Evidence(mine, ours.bad, p_value))
    if best is None:
        return None
    version, ours = best
    rest = [s for s in evidence.spans if s.version != version]
    return (
        version,
        ours,
        Evidence(rest, [s for s in evidence.bad if s.version != version]),
    )


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


def seasonal_note(baseline: Baseline, now: float) -> str:
    """ " at 02:15 UTC, hour of day" when the expectation follows the time of day."""
    if baseline.season is None:
        return ""
    described = baseline.season.describe(now)
    return f" at {described}" if described else ""


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
