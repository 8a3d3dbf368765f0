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

    @property
    def offset(self) -> float:
        return self.offset_sum / self.cycles if self.cycles else 0.0


@dataclass(frozen=True)
class SlotObservation:
    """What one cycle adds to a slot-day (persisted by the caller)."""

    day: int
    slot: int
    offset: float | None  # None while the plain level is not known yet
    requests: int
    errors: int


@dataclass(frozen=True)
class Season:
    """The expected log offsets of the slots around now, and how they were found."""

    offsets: dict[int, float] = field(default_factory=dict)  # slot of day -> log
    basis: dict[int, str] = field(default_factory=dict)  # slot -> "hour of week"...

    def offset_at(self, epoch: float) -> float:
        return self.offsets.get(day_and_slot(epoch)[1], 0.0)

    def describe(self, epoch: float) -> str | None:
        """ "02:15 UTC (hour of day)" when a seasonal expectation applies at epoch."""
        slot = day_and_slot(epoch)[1]
        if not self.offsets.get(slot):
            return None
        return f"{slot_label(slot)}, {self.basis.get(slot, 'hour of day')}"


def _weekday(day: int) -> int:
    return (day + 3) % 7  # epoch day 0 was a Thursday; Monday is 0


def expected_offset(history: Iterable[SlotDay], day: int) -> tuple[float, str]:
    """The expected log offset of one slot on ``day``, from that slot's earlier
    days (any order), and its basis. 0.0 when no pattern holds."""
    usable = sorted(
        (h for h in history if h.day < day and h.cycles >= MIN_CYCLES),
        key=lambda h: -h.day,
    )
    same_weekday = [h for h in usable if _weekday(h.day) == _weekday(day)]
    if len(same_weekday) >= MIN_DAYS:
        chosen, basis = same_weekday[:RECENT_DAYS], "hour of week"
    else:
        chosen, basis = (
            [h for h in usable if day - h.day <= 7][:RECENT_DAYS],
            ("hour of day"),
        )
    if len(chosen) < MIN_DAYS:
        return 0.0, basis
    offsets = [h.offset for h in chosen]
    if all(o >= DEAD_ZONE for o in offsets):
        return min(offsets), basis
    if all(o <= -DEAD_ZONE for o in offsets):
        return max(offsets), basis
    return 0.0, basis


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
    offsets, basis = {}, {}
    for epoch in _moments(since, now):
        day, slot = day_and_slot(epoch)
        offset, how = expected_offset(by_slot.get(slot, []), day)
        if offset:
            offsets[slot], basis[slot] = offset, how
    return Season(offsets, basis) if offsets else None


def slots_between(since: float, now: float) -> list[int]:
    return sorted({day_and_slot(epoch)[1] for epoch in _moments(since, now)})


def observe(
    starts_and_durations: Iterable[tuple[float, float, bool]],
    plain_log_level: float | None,
) -> list[SlotObservation]:
    """A cycle's requests (start, duration ms, failed) as slot observations: per
    slot-day, the log of the successful requests' median over the plain level."""
    groups: dict[tuple[int, int], list[tuple[float, bool]]] = {}
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
            )
        )
    return result
