"""Seasonal expectations: what an endpoint's latency usually is at this time of day.

Traffic has hours: a nightly batch makes a query slow every night at 02:00, a
cache is cold every morning. A plain baseline knows one level, so such a pattern
either pages someone every night or, to avoid that, every threshold is loose.

Each endpoint keeps, per quarter hour of the day (UTC) and per day, how far its
cycle medians sat from its plain level (``SlotDay``). The expectation for a
quarter hour is taken from the latest days that saw it: the same weekday of
earlier weeks once two of them are known (hour of the week), otherwise the
previous days (hour of the day). A pattern counts only when it held on every one
of the latest ``RECENT_DAYS`` such days (at least ``MIN_DAYS``), and only as far
as the weakest of them: a fault on one day is outvoted by any healthy day, so
nothing that happened once is ever learned as expected; something that happens
every night is learned after two nights. Offsets under ``DEAD_ZONE`` are day to
day noise and count as none.

The plain baseline then learns and judges on deseasonalised latency: a request is
compared with the expectation for the moment it started.

The same history says what error rate and what traffic are usual. An error rate
that held on every one of those days (a nightly job that fails a share of its
calls) raises the error detector's bar at that hour, the way a latency offset
does. Traffic is compared with a band: the quietest and the busiest of the days
it is learned from, as requests per second that the analysis watched
(``seconds``: a day the analysis was down for part of the quarter hour counts
only the part it saw). Traffic has a weekly shape (a Saturday is not a quiet
Friday), so a band needs the same weekday a week earlier.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiops.detection.core.stats import median

SLOT_SECONDS = 900.0
DAY_SECONDS = 86_400.0
SLOTS_PER_DAY = int(DAY_SECONDS // SLOT_SECONDS)
# Days of history kept and read: two weeks, for the hour of the week.
HISTORY_DAYS = 15
MIN_DAYS = 2
RECENT_DAYS = 3
# A slot-day needs this many cycles with requests to say anything.
MIN_CYCLES = 3
# Offsets smaller than this factor (either way) are noise, not a season.
DEAD_ZONE = math.log(1.25)
# A slot-day's error rate says something from this many requests on, and is a
# season (raises the error bar) from this rate on; below it, the plain learned
# rate and its floor already cover it.
MIN_ERROR_REQUESTS = 20
ERROR_SEASON = 0.05
# A slot-day says what traffic is usual when the analysis watched at least this
# much of it (a restart, the install's first quarter hour: partly seen).
MIN_WATCHED = SLOT_SECONDS / 2


def day_and_slot(epoch: float) -> tuple[int, int]:
    day, rest = divmod(epoch, DAY_SECONDS)
    return int(day), int(rest // SLOT_SECONDS)


def slot_label(slot: int) -> str:
    minutes = int(slot * SLOT_SECONDS // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d} UTC"


@dataclass(frozen=True)
class SlotDay:
    """One endpoint's quarter hour on one day: its cycles' log offsets from the
    plain level, and its traffic."""

    day: int
    slot: int
    cycles: int
    offset_sum: float
    requests: int = 0
    errors: int = 0
    # Seconds of the quarter hour the analysis watched (cycles covered).
    seconds: float = 0.0

    @property
    def offset(self) -> float:
        return self.offset_sum / self.cycles if self.cycles else 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def rate(self) -> float:
        """Requests per second while watched."""
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class SlotObservation:
    """What one cycle adds to a slot-day (persisted by the caller)."""

    day: int
    slot: int
    offset: float | None  # None while the plain level is not known yet
    requests: int
    errors: int
    seconds: float = 0.0  # of this slot-day the cycle covered


@dataclass(frozen=True)
class TrafficBand:
    """Usual requests per second in one slot: the quietest and the busiest of
    the days it was learned from."""

    low: float
    high: float
    basis: str
    days: int


@dataclass(frozen=True)
class Season:
    """The expected log offsets of the slots around now, and how they were found;
    the usual error rates and traffic there, and the traffic seen so far today."""

    offsets: dict[int, float] = field(default_factory=dict)  # slot of day -> log
    basis: dict[int, str] = field(default_factory=dict)  # slot -> "hour of week"...
    error_rates: dict[int, float] = field(default_factory=dict)  # slot -> rate
    # (day, slot) -> band, for the current quarter hour and the one before.
    traffic: dict[tuple[int, int], TrafficBand] = field(default_factory=dict)
    # (day, slot) -> what the cycles so far saw of it: (requests, seconds).
    watched: dict[tuple[int, int], tuple[int, float]] = field(default_factory=dict)

    def offset_at(self, epoch: float) -> float:
        return self.offsets.get(day_and_slot(epoch)[1], 0.0)

    def error_rate_at(self, epoch: float) -> float:
        return self.error_rates.get(day_and_slot(epoch)[1], 0.0)

    def describe(self, epoch: float) -> str | None:
        """ "02:15 UTC (hour of day)" when a seasonal expectation applies at epoch."""
        slot = day_and_slot(epoch)[1]
        if not self.offsets.get(slot):
            return None
        return f"{slot_label(slot)}, {self.basis.get(slot, 'hour of day')}"


def _weekday(day: int) -> int:
    return (day + 3) % 7  # epoch day 0 was a Thursday; Monday is 0


def _chosen(usable: Iterable[SlotDay], day: int) -> tuple[list[SlotDay], str]:
    """The days a slot's expectation on ``day`` is taken from, newest first: the
    same weekday of earlier weeks once two are known, otherwise the last days."""
    latest = sorted((h for h in usable if h.day < day), key=lambda h: -h.day)
    same_weekday = [h for h in latest if _weekday(h.day) == _weekday(day)]
    if len(same_weekday) >= MIN_DAYS:
        return same_weekday[:RECENT_DAYS], "hour of week"
    return [h for h in latest if day - h.day <= 7][:RECENT_DAYS], "hour of day"


def expected_offset(history: Iterable[SlotDay], day: int) -> tuple[float, str]:
    """The expected log offset of one slot on ``day``, from that slot's earlier
    days (any order), and its basis. 0.0 when no pattern holds."""
    chosen, basis = _chosen((h for h in history if h.cycles >= MIN_CYCLES), day)
    if len(chosen) < MIN_DAYS:
        return 0.0, basis
    offsets = [h.offset for h in chosen]
    if all(o >= DEAD_ZONE for o in offsets):
        return min(offsets), basis
    if all(o <= -DEAD_ZONE for o in offsets):
        return max(offsets), basis
    return 0.0, basis


def expected_error_rate(history: Iterable[SlotDay], day: int) -> float:
    """The error rate one slot usually has on ``day``: the lowest of its chosen
    days' when every one of them (at least ``MIN_DAYS``) failed at least
    ``ERROR_SEASON`` of its requests; 0.0 otherwise. A fault on one day is
    outvoted by any healthy day."""
    chosen, _ = _chosen((h for h in history if h.requests >= MIN_ERROR_REQUESTS), day)
    if len(chosen) < MIN_DAYS or any(h.error_rate < ERROR_SEASON for h in chosen):
        return 0.0
    return min(h.error_rate for h in chosen)


def traffic_band(history: Iterable[SlotDay], day: int) -> TrafficBand | None:
    """The usual traffic of one slot on ``day``, or None before the same weekday
    of an earlier week was watched: until then a quiet Saturday would be judged
    against busy weekdays. With one such week, the band spans it and the last
    days (a Monday is expected somewhere between last Monday and the weekend);
    with two, the same weekdays alone."""
    watched = [h for h in history if h.day < day and h.seconds >= MIN_WATCHED]
    same_weekday = sorted(
        (h for h in watched if _weekday(h.day) == _weekday(day)), key=lambda h: -h.day
    )
    if not same_weekday:
        return None
    chosen, basis = _chosen(watched, day)
    if basis != "hour of week":
        chosen = list({h.day: h for h in [same_weekday[0], *chosen]}.values())
        basis = "hour of week and recent days"
    rates = [h.rate for h in chosen]
    return TrafficBand(min(rates), max(rates), basis, len(chosen))


def _moments(since: float, now: float) -> list[float]:
    """One moment in each quarter hour from ``since`` to ``now``."""
    moments, epoch = [], now
    while epoch > since - SLOT_SECONDS:
        moments.append(epoch)
        epoch -= SLOT_SECONDS
    return moments


def season_for(
    history: Iterable[SlotDay], *, since: float, now: float
) -> Season | None:
    """The season of the quarter hours a cycle at ``now`` may judge requests of
    (back to ``since``: the window, and the older requests a quiet endpoint
    borrows), from the endpoint's history of those slots."""
    by_slot: dict[int, list[SlotDay]] = {}
    for item in history:
        by_slot.setdefault(item.slot, []).append(item)
    offsets, basis, error_rates = {}, {}, {}
    for epoch in _moments(since, now):
        day, slot = day_and_slot(epoch)
        offset, how = expected_offset(by_slot.get(slot, []), day)
        if offset:
            offsets[slot], basis[slot] = offset, how
        if error_rate := expected_error_rate(by_slot.get(slot, []), day):
            error_rates[slot] = error_rate
    traffic, watched = {}, {}
    recent = {day_and_slot(now), day_and_slot(now - SLOT_SECONDS)}
    for day, slot in recent:
        band = traffic_band(by_slot.get(slot, []), day)
        if band is not None:
            traffic[(day, slot)] = band
    for item in history:
        if (item.day, item.slot) in recent:
            watched[(item.day, item.slot)] = (item.requests, item.seconds)
    if not (offsets or error_rates or traffic):
        return None
    return Season(offsets, basis, error_rates, traffic, watched)


def slots_between(since: float, now: float) -> list[int]:
    """The slots a cycle at ``now`` reads: back to ``since``, and at least the
    quarter hour before now (traffic is judged over it)."""
    since = min(since, now - SLOT_SECONDS)
    return sorted({day_and_slot(epoch)[1] for epoch in _moments(since, now)})


def watched_seconds(since: float, until: float) -> dict[tuple[int, int], float]:
    """How many seconds of each slot-day the stretch (since, until] covers."""
    result: dict[tuple[int, int], float] = {}
    t = since
    while t < until:
        end = min((math.floor(t / SLOT_SECONDS) + 1) * SLOT_SECONDS, until)
        key = day_and_slot(t)
        result[key] = result.get(key, 0.0) + (end - t)
        t = end
    return result


def observe(
    starts_and_durations: Iterable[tuple[float, float, bool]],
    plain_log_level: float | None,
    *,
    since: float,
    until: float,
) -> list[SlotObservation]:
    """A cycle's requests (start, duration ms, failed) as slot observations: per
    slot-day, the log of the successful requests' median over the plain level,
    the traffic, and how much of the slot-day the cycle watched (``since`` to
    ``until``: a slot it watched without a request had none)."""
    seconds = watched_seconds(since, until)
    groups: dict[tuple[int, int], list[tuple[float, bool]]] = {
        key: [] for key in seconds
    }
    for start, duration, failed in starts_and_durations:
        groups.setdefault(day_and_slot(start), []).append((duration, failed))
    result = []
    for (day, slot), items in sorted(groups.items()):
        served = [d for d, failed in items if not failed]
        offset = None
        if served and plain_log_level is not None:
            offset = math.log(max(median(served), 0.001)) - plain_log_level
        result.append(
            SlotObservation(
                day,
                slot,
                offset,
                requests=len(items),
                errors=sum(1 for _, failed in items if failed),
                seconds=seconds.get((day, slot), 0.0),
            )
        )
    return result
