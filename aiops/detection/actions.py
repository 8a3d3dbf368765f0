"""Operator actions on incidents, shared by the API and the admin."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from django.db import transaction

from aiops.detection.models import Incident, IncidentStatus
from aiops.notifications.services import record_events


class Outcome(Enum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"  # already in that state: the action is idempotent
    REFUSED = "refused"  # e.g. acknowledging a resolved incident


def incident_acknowledge(
    *, incident: Incident, by: str, note: str = "", now: datetime
) -> Outcome:
    with transaction.atomic():
        changed = incident.acknowledge(by=by, note=note, at=now)
        if changed:
            record_events([(incident, "acknowledged")], now=now)
    if changed:
        return Outcome.CHANGED
    if incident.status == IncidentStatus.ACKNOWLEDGED:
        return Outcome.UNCHANGED
    return Outcome.REFUSED


def incident_resolve(
    *, incident: Incident, by: str, note: str = "", now: datetime
) -> Outcome:
    with transaction.atomic():
        changed = incident.resolve(by=by, note=note, at=now)
        if changed:
            record_events([(incident, "resolved")], now=now)
    if changed:
        return Outcome.CHANGED
    return Outcome.UNCHANGED


def incidents_acknowledge(*, incidents, by: str, note: str = "", now: datetime) -> int:
    """Acknowledge many (admin bulk action); returns how many changed."""
    return sum(
        incident_acknowledge(incident=i, by=by, note=note, now=now) is Outcome.CHANGED
        for i in incidents
    )


def incidents_resolve(*, incidents, by: str, note: str = "", now: datetime) -> int:
    return sum(
        incident_resolve(incident=i, by=by, note=note, now=now) is Outcome.CHANGED
        for i in incidents
    )
