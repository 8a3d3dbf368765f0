"""Traffic surge and traffic drop: an entry point's request rate far outside what
this hour of the week usually brings.

The expectation is a band from the endpoint's seasonal history
(``seasonal.traffic_band``): the quietest and the busiest of the days learned
from, so Monday's morning ramp, the lunchtime peak and a quiet Sunday are all
usual. A surge is a rate significantly above twice the busiest day's; a drop, a
rate significantly below half the quietest day's. Both are judged over this
cycle, the quarter hour so far, and that plus the quarter hour before (the
longer stretches see a smaller change sooner on a quiet endpoint), each a
Poisson test at its share of the significance level.

Only entry points are judged (endpoints nobody is seen calling): traffic deeper
in the call graph follows theirs, and a callee its callers stopped calling is
``missing_calls``' finding. An endpoint that stopped answering altogether while
its witnesses stayed busy is the silence detector's; a drop here is traffic that
stopped arriving, whoever else went quiet with it (a broken load balancer, a
DNS change, an upstream outage).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiops.detection.core.database import is_database
from aiops.detection.core.detectors.base import DetectContext, Verdict
from aiops.detection.core.kinds import AnomalyType
from aiops.detection.core.seasonal import (
    SLOT_SECONDS,
    day_and_slot,
    slot_label,
    watched_seconds,
)
from aiops.detection.core.stats import poisson_at_least, poisson_at_most
from aiops.detection.core.types import Finding
from aiops.detection.core.window import UNMATCHED

SIGNAL = "traffic"
# A surge is beyond this multiple of the busiest usual rate; a drop below the
# quietest usual rate divided by it.
FACTOR = 2.0
# A drop to this share of the quietest usual traffic is an outage, not a dip.
OUTAGE_SHARE = 0.1
# How unlikely a stretch must be to count as off at all (see ``detect``).
SUSPICIOUS = 1e-3
# A stretch is judged when its quietest usual traffic is at least this many
# requests, as the silence and missing-calls detectors need 20 expected: below
# it, a count is a schedule's or a sampler's rhythm more than a load (a probe
# every five minutes, a sensor that reports in bursts), and Poisson it is not.
MIN_EXPECTED = 20.0


@dataclass(frozen=True)
class Stretch:
    """A stretch of recent time: requests seen, seconds watched, and the
    requests the band expects at its low and high end."""

    name: str
    requests: int
    seconds: float
    low: float
    high: float


def detect(ctx: DetectContext) -> Verdict:
    key, season = ctx.window.key, ctx.baseline.season
    if (
        season is None
        or not season.traffic
        or ctx.bucket_start is None
        or key.endpoint == UNMATCHED
        or is_database(key)
        or (ctx.witnesses is not None and ctx.witnesses.callers.get(key))
    ):
        return Verdict(SIGNAL)
    stretches = [
        s
        for s in _stretches(ctx)
        if ctx.evidence_since is None or ctx.now - s.seconds >= ctx.evidence_since
    ]
    if not stretches:
        return Verdict(SIGNAL)
    level = ctx.config.significance / (2 * len(stretches))
    best: tuple[float, AnomalyType, Stretch] | None = None
    for stretch in stretches:
        surge_bar, drop_bar = FACTOR * stretch.high, stretch.low / FACTOR
        if stretch.requests > surge_bar:
            found = (
                poisson_at_least(stretch.requests, surge_bar),
                AnomalyType.TRAFFIC_SURGE,
                stretch,
            )
        elif stretch.requests < drop_bar:
            found = (
                poisson_at_most(stretch.requests, drop_bar),
                AnomalyType.TRAFFIC_DROP,
                stretch,
            )
        else:
            continue
        if best is None or found[0] < best[0]:
            best = found
    # Beyond a bar by chance is common where few requests are expected (a
    # quiet night's cycle without a request is below any drop bar): only a
    # stretch that is off beyond ``SUSPICIOUS`` pauses learning the rate or
    # keeps an incident open.
    if best is None or best[0] > SUSPICIOUS:
        return Verdict(SIGNAL)
    p_value, kind, stretch = best
    opens = p_value <= level
    if not opens and not ctx.in_incident:
        return Verdict(SIGNAL, suspicious=True)
    return Verdict(SIGNAL, _finding(ctx, kind, stretch, opens=opens), suspicious=True)


def _stretches(ctx: DetectContext) -> list[Stretch]:
    """This cycle, the quarter hour so far, and that with the quarter hour
    before, where the band knows each slot they cover. A slot counts what the
    earlier cycles watched of it (``Season.watched``) and this cycle's new
    spans that started in it; spans that arrive late (an exporter flushing
    what it held back) were requests of their own time, not of this cycle."""
    season, now = ctx.baseline.season, ctx.now
    assert season is not None and ctx.bucket_start is not None
    current, previous = day_and_slot(now), day_and_slot(now - SLOT_SECONDS)
    if current not in season.traffic:
        return []
    fresh: dict[tuple[int, int], int] = {}
    for span in ctx.window.spans:
        if span.start > ctx.bucket_start and not span.late:
            slot = day_and_slot(span.start)
            fresh[slot] = fresh.get(slot, 0) + 1
    covered = watched_seconds(ctx.bucket_start, now)

    def over(slots: list[tuple[int, int]], name: str, *, cycle_only=False) -> Stretch:
        requests, low, high, seconds = 0, 0.0, 0.0, 0.0
        for slot in slots:
            band = season.traffic[slot]
            count, watched = fresh.get(slot, 0), covered.get(slot, 0.0)
            if not cycle_only:
                before = season.watched.get(slot, (0, 0.0))
                count, watched = count + before[0], watched + before[1]
            requests += count
            seconds += watched
            low += band.low * watched
            high += band.high * watched
        return Stretch(name, requests, seconds, low, high)

    result = [over([current], "this cycle", cycle_only=True)]
    result.append(over([current], "this quarter hour"))
    if previous in season.traffic and previous in season.watched:
        result.append(over([previous, current], "the last two quarter hours"))
    # A stretch no longer than the one before it says nothing new.
    unique = [result[0]]
    for stretch in result[1:]:
        if stretch.seconds > unique[-1].seconds:
            unique.append(stretch)
    return [s for s in unique if s.seconds > 0 and s.low >= MIN_EXPECTED]


def _anything_arrived(ctx: DetectContext) -> bool:
    """Whether any endpoint's spans arrived in this cycle (a drop everywhere at
    once may be the telemetry, not the traffic)."""
    if ctx.witnesses is None:
        return True
    return any(
        s.start > (ctx.bucket_start or 0.0) or s.late
        for spans in ctx.witnesses.by_endpoint.values()
        for s in spans
    )


def _finding(
    ctx: DetectContext, kind: AnomalyType, stretch: Stretch, *, opens: bool
) -> Finding:
    season = ctx.baseline.season
    assert season is not None
    current = day_and_slot(ctx.now)
    band = season.traffic[current]
    moment = datetime.fromtimestamp(ctx.now, tz=UTC).strftime("%A")
    when = f"{moment} {slot_label(current[1])} ({band.basis})"
    seconds = stretch.seconds
    lasted = f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
    rate = stretch.requests / seconds
    surge = kind == AnomalyType.TRAFFIC_SURGE
    word = "surge" if surge else "drop"
    summary = (
        f"Traffic {word}: {stretch.requests} requests in {lasted} "
        f"({rate * 60:.1f}/min), expected {stretch.low:.0f}-{stretch.high:.0f} "
        f"for {when}"
    )
    if not surge and not _anything_arrived(ctx):
        summary += (
            "; nothing arrived from any service either: the traffic or its "
            "telemetry stopped"
        )
    outage = not surge and stretch.requests <= OUTAGE_SHARE * stretch.low
    severity = "high" if outage else "medium"
    return Finding(
        key=ctx.window.key,
        type=kind,
        observed=rate,
        expected=(band.high if surge else band.low),
        sample_count=stretch.requests,
        severity=severity,
        summary=summary,
        window_start=ctx.now - stretch.seconds,
        window_end=ctx.now,
        detail={
            "change": word,
            "stretch": stretch.name,
            "seconds": round(stretch.seconds, 1),
            "expected_low": round(stretch.low, 1),
            "expected_high": round(stretch.high, 1),
            "basis": band.basis,
            "days": band.days,
        },
        opens_incident=opens,
    )
