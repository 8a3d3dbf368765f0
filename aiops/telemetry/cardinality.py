"""Bounded endpoint names, whatever clients send.

Every distinct (service, endpoint) costs a baseline, a row per cycle in the
charts, a line in /metrics and its share of each analysis cycle: an exporter that
names its spans after user ids (or an attacker) must not be able to make those
unbounded. A service may have ``AIOPS_MAX_ENDPOINTS_PER_SERVICE`` endpoint names
and all services together ``AIOPS_MAX_ENDPOINTS``; beyond that, new names are
stored as the service's ``(other)`` endpoint and counted, the way metrics systems
fold what is over a cardinality limit into one series; past
``AIOPS_OVERFLOW_SPANS_PER_MINUTE`` such spans (per process) they are counted and
refused instead.

Names already known (a baseline exists) always pass. Each process admits new
names itself between refreshes of what is known, so processes together may
admit a few times the cap before the next refresh; the analysis cycle applies
the same caps again (``aiops.detection.selectors``), so what it judges stays bounded.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from django.apps import apps
from django.db import DatabaseError

from aiops.conf import settings

OVERFLOW = "(other)"
REFRESH_EVERY = 30.0


class EndpointNames:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, set[str]] = defaultdict(set)
        self._total = 0
        self._loaded_at = float("-inf")
        self._tokens = float("inf")
        self._refilled = time.monotonic()

    def _refresh(self) -> None:
        Baseline = apps.get_model("detection", "EndpointBaseline")
        known: dict[str, set[str]] = defaultdict(set)
        try:
            for service, endpoint in Baseline.objects.values_list(
                "service", "endpoint"
            ).iterator(chunk_size=5000):
                known[service].add(endpoint)
        except DatabaseError:
            return  # keep what we had; the next call tries again
        # Names this process admitted since are kept: the cycle may not have
        # made their baselines yet.
        for service, names in self._known.items():
            known[service] |= names
        self._known = known
        self._total = sum(len(names) for names in known.values())
        self._loaded_at = time.monotonic()

    def admit(self, service: str, endpoint: str) -> str | None:
        """``endpoint``; OVERFLOW if it would be one name too many; None when even
        the overflow endpoints have had their share of spans this minute (the
        span is then counted, not stored: a flood of made-up names must not cost
        the analysis what it would as real endpoints)."""
        with self._lock:
            now = time.monotonic()
            if now - self._loaded_at > REFRESH_EVERY:
                self._refresh()
            names = self._known[service]
            if endpoint in names:
                return endpoint
            if (
                len(names) < settings.AIOPS_MAX_ENDPOINTS_PER_SERVICE
                and self._total < settings.AIOPS_MAX_ENDPOINTS
            ):
                names.add(endpoint)
                self._total += 1
                return endpoint
            return OVERFLOW if self._take_overflow(now) else None

    def _take_overflow(self, now: float) -> bool:
        per_minute = settings.AIOPS_OVERFLOW_SPANS_PER_MINUTE
        self._tokens = min(
            per_minute, self._tokens + (now - self._refilled) * per_minute / 60.0
        )
        self._refilled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def forget(self) -> None:
        """Drop what is known (tests; a process whose database changed)."""
        with self._lock:
            self._known = defaultdict(set)
            self._total = 0
            self._loaded_at = float("-inf")
            self._tokens = float("inf")


endpoint_names = EndpointNames()
