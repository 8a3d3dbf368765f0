"""Fault injection for the demo shop: services that change faults, and the cached
read the demo views make on every request."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from demo_shop.models import DEMO_ENDPOINTS, Fault


@dataclass(frozen=True, slots=True)
class FaultState:
    endpoint: str
    delay_ms: int = 0
    error_rate: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "endpoint": self.endpoint,
            "delay_ms": self.delay_ms,
            "error_rate": self.error_rate,
        }


class InjectedFault(Exception):
    """Raised inside a demo view when the dice say this request fails."""


_cache: dict[str, FaultState] = {}
_cache_expires = 0.0
_cache_lock = threading.Lock()


def normalize_endpoint(value: str) -> str | None:
    """``payment`` and ``/payment`` name the same endpoint; None if unknown."""
    name = value.strip().strip("/").lower()
    return name if name in DEMO_ENDPOINTS else None


def _invalidate() -> None:
    global _cache_expires
    with _cache_lock:
        _cache_expires = 0.0


def active_faults() -> dict[str, FaultState]:
    """Faults by endpoint, read at most once per ``AIOPS_FAULT_CACHE_SECONDS``.

    Every worker sees a change within that time; the demo endpoints do not pay a
    query per request for a feature that is idle nearly always.
    """
    global _cache, _cache_expires
    now = time.monotonic()
    if now < _cache_expires:
        return _cache
    faults = {
        f.endpoint: FaultState(f.endpoint, f.delay_ms, f.error_rate)
        for f in Fault.objects.all()
        if f.is_active
    }
    with _cache_lock:
        _cache = faults
        _cache_expires = now + settings.AIOPS_FAULT_CACHE_SECONDS
    return faults


def apply_fault(endpoint: str) -> None:
    """Delay and/or fail the current request as the endpoint's fault says."""
    fault = active_faults().get(endpoint)
    if fault is None:
        return
    if fault.delay_ms:
        time.sleep(fault.delay_ms / 1000.0)
    if fault.error_rate and random.random() < fault.error_rate:
        raise InjectedFault(
            f"Injected failure on {endpoint} (rate {fault.error_rate:g})"
        )


def _state(fault: Fault) -> FaultState:
    return FaultState(fault.endpoint, fault.delay_ms, fault.error_rate)


def fault_set_delay(*, endpoint: str, delay_ms: int, by: str = "") -> FaultState:
    with transaction.atomic():
        fault, _ = Fault.objects.select_for_update().get_or_create(endpoint=endpoint)
        fault.delay_ms = delay_ms
        fault.updated_by = by
        fault.save()
    _invalidate()
    return _state(fault)


def fault_set_error(*, endpoint: str, rate: float, by: str = "") -> FaultState:
    with transaction.atomic():
        fault, _ = Fault.objects.select_for_update().get_or_create(endpoint=endpoint)
        fault.error_rate = rate
        fault.updated_by = by
        fault.save()
    _invalidate()
    return _state(fault)


def fault_clear(*, endpoint: str | None = None) -> list[str]:
    """Remove the faults of one endpoint, or all; returns the endpoints cleared."""
    faults = Fault.objects.all()
    if endpoint is not None:
        faults = faults.filter(endpoint=endpoint)
    cleared = sorted(f.endpoint for f in faults if f.is_active)
    faults.delete()
    _invalidate()
    return cleared


def fault_status() -> dict[str, FaultState]:
    """Uncached, for the status endpoint: what is stored right now."""
    return {f.endpoint: _state(f) for f in Fault.objects.all() if f.is_active}
