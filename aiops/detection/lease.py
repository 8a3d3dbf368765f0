"""The cluster-wide analysis lease (see ``AnalysisLease``)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from aiops.detection.models import AnalysisLease

ANALYSIS = "analysis"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def try_acquire(*, name: str, holder: str, ttl: float) -> bool:
    """Take the lease if it is free or expired; True if this holder has it now."""
    wall = timezone.now()
    try:
        with transaction.atomic():
            AnalysisLease.objects.get_or_create(
                name=name, defaults={"expires_at": _EPOCH}
            )
    except IntegrityError:
        pass  # another worker created the row at the same moment; fine
    taken = (
        AnalysisLease.objects.filter(name=name)
        .filter(Q(expires_at__lte=wall) | Q(holder=holder))
        .update(holder=holder, expires_at=wall + timedelta(seconds=ttl))
    )
    return taken == 1


def release(*, name: str, holder: str) -> None:
    AnalysisLease.objects.filter(name=name, holder=holder).update(
        holder="", expires_at=_EPOCH
    )


@contextmanager
def held(*, name: str, ttl: float) -> Iterator[str | None]:
    """Yields the holder id if the lease was taken, else None (someone else runs)."""
    holder = holder_id()
    if not try_acquire(name=name, holder=holder, ttl=ttl):
        yield None
        return
    try:
        yield holder
    finally:
        release(name=name, holder=holder)
