"""Latency series: an endpoint whose cycles hold one value, judged as a series.

A probe, a gauge or a scheduled job gives a cycle one latency (or a few): there
is no distribution within a cycle to test, only the sequence of cycle medians.
Such an endpoint (one that never had a busy cycle, ``Baseline.busy_cycles``)
takes one step per cycle with data, on the cycle's median latency (without the
time of day), and raises an alarm on the first step that passes one of three
tests, then stays quiet for ``REST`` steps (one alarm per anomaly):

1. range: the value leaves the range seen so far by more than ``MARGIN`` of its
   width (the range forgets slowly, over ``RANGE_MEMORY`` steps);
2. level: the median of the last ``RECENT`` values, against the median of the
   last ``WINDOW`` in robust standard deviations (MAD);
3. spread: the mean distance from that median over the last ``RECENT`` values
   against the same over the last ``WINDOW`` (log ratio).

Tests 2 and 3 are not judged on fixed thresholds: their scores pass through a
likelihood layer (as Numenta's detector does): the mean of the last
``SCORE_RUN`` scores against that mean's own long-run mean and standard
deviation, so a series whose scores are always high (spiky, drifting) needs more
than one whose scores are always low. The constants were chosen on NAB's
development half (bench/quality); ``WINDOW`` is the one results depend on most.

It judges only an endpoint that has shown it is a sampled series
(``regular``): ``WARM_UP`` steps, nearly all holding the same number of values
and none coming much sooner than usual. A sampler keeps its beat: its gaps are
almost never under half its usual gap (at most 1 % of them on NAB's road sensors,
which skip and bunch). Requests that arrive at random do not: with one every few
minutes each cycle holds one or none, as a slow probe's do, but about 29 % of
the gaps are under half the median one (1 - 2^-1/2, for exponential gaps). There
it replaces the latency and shift detectors (``analyze.SERIES_REPLACES``);
a quiet endpoint whose requests arrive at random keeps them, and this detector
stays silent for it.

What it costs in false alarms on pure noise: the range test's new records
follow the 1/n law of independent values (about ln(N / WARM_UP) alarms in the
first N steps of an unbounded noise: three in a new 30 s probe's first day, then
fewer each day), the level test about one in 5,000 steps.

The state (``Baseline.series``) is plain JSON: the last ``WINDOW`` values, two
runs of ``SCORE_RUN`` scores and a few numbers, 3-4 KB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aiops.detection.core.detectors.base import (
    DetectContext,
    Verdict,
    example_traces,
    seasonal_note,
    span_ids,
    succeeded,
)
from aiops.detection.core.kinds import AnomalyType
from aiops.detection.core.stats import median
from aiops.detection.core.types import Finding

SIGNAL = "series"
TYPE = AnomalyType.SERIES

WINDOW = 144  # values kept: the "usual" of the level and spread tests
RECENT = 36  # the recent values judged against them
REFRESH = 10  # steps between recomputations of the window's median and spreads
MARGIN = 0.02  # beyond the range by this share of its width
RANGE_MEMORY = 100_000  # steps over which the range relaxes toward the values
SCORE_RUN = 10  # scores averaged before the likelihood test
SCORE_MEMORY = 1000.0  # steps of the long-run mean and variance of that average
LEVEL_SD = 4.0  # the level alarm: averaged score this many sd above its usual
SPREAD_SD = 6.0  # the spread alarm, likewise
WARM_UP = 150  # steps before it judges (and replaces the others)
REST = 100  # quiet steps after an alarm
MAX_Z = 20.0  # one wild value cannot dominate the averaged level score
MIN_SCORE_SD = 0.05  # a series whose scores never vary is not judged on noise
MAD_TO_SD = 1.4826
# Share of steps whose number of values differs from the step before, above
# which the endpoint is no sampled series (Poisson arrivals of about one
# request a cycle change it every other step).
MAX_IRREGULAR = 0.1
GAPS = 15  # gaps between steps kept for the usual one (their median)
SHORT_GAP = 0.5  # a step this much sooner than usual is off the beat


@dataclass(frozen=True)
class Alarm:
    test: str  # "range", "level" or "spread"
    direction: str  # "up" or "down"
    observed: float  # the value, the recent median, or the recent spread
    expected: float  # the edge passed, the window's median, or its spread
    low: float  # what was expected, as a range
    high: float
    score: float  # sd above the usual (level and spread); 0 for the range
    # A value of the quiet steps after an alarm, still beyond what was expected
    # before it: keeps the incident open, never opens one.
    ongoing: bool = False


def applies(ctx: DetectContext) -> bool:
    """A step for this cycle: the endpoint has never been busy (nor is it now)
    and the cycle has a median latency."""
    return (
        ctx.cycle_median is not None
        and ctx.baseline.busy_cycles == 0
        and ctx.cycle_samples < ctx.config.min_window_samples
    )


def regular(state: dict) -> bool:
    """The endpoint has shown that it behaves as a sampled series: judged by this
    detector alone (until then, by the usual ones)."""
    return (
        state.get("steps", 0) > WARM_UP and state.get("irregular", 1.0) <= MAX_IRREGULAR
    )


def _likelihood(state: dict, name: str, score: float) -> float:
    """Sd distance of the mean of the last scores from its long-run mean; learns
    the score afterwards."""
    run = (state.get(name + "_run", []) + [score])[-SCORE_RUN:]
    mean, var, n = state.get(name + "_stats", (0.0, 0.0, 0))
    average = sum(run) / len(run)
    distance = (average - mean) / max(math.sqrt(var), MIN_SCORE_SD) if n else 0.0
    n += 1
    weight = max(1.0 / SCORE_MEMORY, 1.0 / n)
    delta = average - mean
    state[name + "_run"] = run
    state[name + "_stats"] = [
        mean + weight * delta,
        (1 - weight) * (var + weight * delta * delta),
        n,
    ]
    return distance


def _usual_level(state: dict) -> float:
    """The level score (sd from the window's median) the likelihood layer holds
    usual: its long-run mean plus ``LEVEL_SD`` of its sd, at most 3."""
    mean, var, _ = state["level_stats"]
    return min(3.0, mean + LEVEL_SD * max(math.sqrt(var), MIN_SCORE_SD))


def _range_step(state: dict, value: float) -> tuple[float, float]:
    """The range before this value, and the range updated with it."""
    low, high, centre = state["low"], state["high"], state["centre"]
    new_low, new_high = min(low, value), max(high, value)
    # Forgetting: the edges relax toward a slow mean, so one spike long ago does
    # not blind the range test for ever.
    centre += (value - centre) / RANGE_MEMORY
    new_high -= (new_high - max(centre, value)) / RANGE_MEMORY
    new_low += (min(centre, value) - new_low) / RANGE_MEMORY
    state.update(low=new_low, high=new_high, centre=centre)
    return low, high


def _off_beat(state: dict, at: float | None) -> bool:
    """Whether this step came much sooner after the last one than steps usually
    do (learns the gap). ``at`` is when the step's first value was taken."""
    if at is None:
        return False
    last = state.get("at")
    state["at"] = at if last is None else max(at, last)
    if last is None or at <= last:
        return False
    gaps = state.get("gaps", [])
    gap = at - last
    state["gaps"] = (gaps + [gap])[-GAPS:]
    return len(gaps) >= GAPS // 3 and gap < SHORT_GAP * median(gaps)


def step(
    state: dict, value: float, count: int = 1, at: float | None = None
) -> Alarm | None:
    """One value of the series (the median of ``count`` requests, the first
    taken at ``at``): updates ``state`` (JSON-ready) in place, and says whether
    it raises an alarm."""
    if not state:
        state.update(
            steps=1,
            values=[value],
            low=value,
            high=value,
            centre=value,
            quiet=0,
            count=count,
            irregular=0.0,
        )
        _off_beat(state, at)
        return None
    t = state["steps"]
    state["steps"] = t + 1
    # A sampled series holds the same number of values every cycle, on a beat; a
    # quiet endpoint's random requests do neither (one, none, three a cycle, or
    # one every few minutes at random): their medians are single requests of a
    # skewed distribution, and each new slowest one would leave the range.
    off_beat = _off_beat(state, at)
    changed = float(count != state["count"] or off_beat)
    weight = max(1.0 / WINDOW, 1.0 / t)
    state["irregular"] += weight * (changed - state["irregular"])
    state["count"] = count
    low, high = _range_step(state, value)
    margin = MARGIN * (high - low)
    values = (state["values"] + [value])[-WINDOW:]
    state["values"] = values

    z = spread = 0.0
    if len(values) >= 3 * RECENT:
        if "median" not in state or t % REFRESH == 0:
            center = median(values)
            deviations = [abs(v - center) for v in values]
            state["median"] = center
            state["mad"] = MAD_TO_SD * median(deviations)
            state["mean_dev"] = sum(deviations) / len(deviations)
        center, mad, mean_dev = state["median"], state["mad"], state["mean_dev"]
        recent = values[-RECENT:]
        recent_median = median(recent)
        scale = max(mad, 1e-9 + 1e-3 * abs(center))
        z = max(-MAX_Z, min(MAX_Z, (recent_median - center) / scale))
        recent_dev = sum(abs(v - center) for v in recent) / RECENT
        tiny = 1e-9 + 1e-6 * abs(center)
        spread = math.log((recent_dev + tiny) / (mean_dev + tiny))
    level_score = _likelihood(state, "level", abs(z))
    spread_score = _likelihood(state, "spread", abs(spread))

    if state["quiet"] > 0:
        state["quiet"] -= 1
        return _still_beyond(state, value)
    if not regular(state):
        return None
    alarm, hold = None, None
    if value > high + margin or value < low - margin:
        up = value > high
        alarm = Alarm(
            "range", "up" if up else "down", value, high if up else low, low, high, 0.0
        )
        hold = ["range", alarm.direction, alarm.expected, low, high]
    elif level_score >= LEVEL_SD and abs(z) >= (usual := _usual_level(state)):
        # The level is judged on its recent scores, and it must sit beyond the
        # band those scores hold usual now: the band shown (never wider than 3
        # sd; a steady series' level alarm fires well inside 3 sd).
        center, sd = state["median"], state["mad"]
        half = usual * scale
        alarm = Alarm(
            "level",
            "up" if z > 0 else "down",
            recent_median,
            center,
            center - half,
            center + half,
            level_score,
        )
        hold = ["level", alarm.direction, center, center - 3 * sd, center + 3 * sd]
    elif spread_score >= SPREAD_SD:
        alarm = Alarm(
            "spread",
            "up" if spread > 0 else "down",
            recent_dev,
            state["mean_dev"],
            state["median"] - state["mean_dev"],
            state["median"] + state["mean_dev"],
            spread_score,
        )
    if alarm is not None:
        state["quiet"] = REST
        # Range and level alarms have a side to stay beyond (the range, or 3 sd
        # of the level); a spread has none.
        state["hold"] = hold
    return alarm


def _still_beyond(state: dict, value: float) -> Alarm | None:
    """During the quiet steps after an alarm: the value, while it stays beyond
    the side it left (the range, or the level's band), as an ongoing alarm. A
    fault that lasts keeps its incident open; once the series is back, or the
    quiet steps are over (what lasts that long is the new normal, learned),
    the incident resolves itself."""
    hold = state.get("hold")
    if not hold:
        return None
    test, direction, expected, low, high = hold
    if state["quiet"] == 0 or not (value > high if direction == "up" else value < low):
        state["hold"] = None
        return None
    return Alarm(test, direction, value, expected, low, high, 0.0, ongoing=True)


def _summary(alarm: Alarm, factor: float, note: str) -> str:
    observed, low, high = (x * factor for x in (alarm.observed, alarm.low, alarm.high))
    if alarm.ongoing and alarm.test == "level":
        side = "above" if alarm.direction == "up" else "below"
        return (
            f"Latency series still {side} its usual {max(low, 0.0):.1f}-{high:.1f}ms: "
            f"{observed:.1f}ms{note}"
        )
    if alarm.test == "range":
        return (
            f"Latency series left its range: {observed:.1f}ms, "
            f"seen so far {low:.1f}-{high:.1f}ms{note}"
        )
    if alarm.test == "level":
        return (
            f"Latency level shifted {alarm.direction}: median of the last {RECENT} "
            f"cycles {observed:.1f}ms, expected {max(low, 0.0):.1f}-{high:.1f}ms{note}"
        )
    return (
        f"Latency spread changed: the last {RECENT} cycles vary by {observed:.1f}ms "
        f"around {(low + high) / 2:.1f}ms, usually by "
        f"{alarm.expected * factor:.1f}ms{note}"
    )


def _severity(alarm: Alarm) -> str:
    """A drop is low, as for the shift detector. So is a new record that passes
    the range by less than its width: on a steady series new records keep coming
    (ln(steps / WARM_UP) of them in pure noise), and most are a little beyond."""
    if alarm.direction != "up":
        return "low"
    if alarm.test == "range" and alarm.observed - alarm.high < alarm.high - alarm.low:
        return "low"
    return "medium"


def detect(ctx: DetectContext) -> tuple[Verdict, dict]:
    """The cycle's step (see ``applies``): the verdict and the state after it."""
    state = dict(ctx.baseline.series)
    since = ctx.bucket_start
    if since is None:
        since = ctx.now - ctx.config.interval
    first = min(
        (s.start for s in ctx.window.spans if s.late or s.start > since),
        default=None,
    )
    alarm = step(state, ctx.cycle_median, ctx.cycle_samples, first)
    if alarm is None:
        return Verdict(SIGNAL), state
    # Judged without the time of day; shown as the user sees it.
    factor = math.exp(ctx.baseline.season_offset(ctx.now))
    spans = sorted(filter(succeeded, ctx.window.spans), key=lambda s: s.start)
    recent = [s for s in spans if s.start > ctx.now - ctx.config.interval] or spans
    finding = Finding(
        key=ctx.window.key,
        type=TYPE,
        observed=alarm.observed * factor,
        expected=alarm.expected * factor,
        sample_count=len(recent),
        severity=_severity(alarm),
        summary=_summary(alarm, factor, seasonal_note(ctx.baseline, ctx.now)),
        opens_incident=not alarm.ongoing,
        window_start=recent[0].start if recent else ctx.window.start,
        window_end=ctx.window.end,
        bad_span_ids=span_ids(recent),
        example_trace_ids=example_traces(recent, ctx.config.max_example_traces),
        detail={
            "test": alarm.test,
            "direction": alarm.direction,
            "score": round(alarm.score, 2),
            "cycles": 1 if alarm.test == "range" or alarm.ongoing else RECENT,
            "ongoing": alarm.ongoing,
        },
    )
    return Verdict(SIGNAL, finding, suspicious=True), state
