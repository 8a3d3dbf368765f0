"""A cap on new incidents, with one "storm" incident for what is over it.

However many faults a cycle finds (a real outage of everything, or a client
forging errors for a hundred made-up services), at most ``AIOPS_MAX_NEW_INCIDENTS``
incidents open within ``AIOPS_STORM_WINDOW`` seconds. The faults over that budget
are grouped into one storm incident (root ``(storm)``), the way Alertmanager
groups alerts into one notification: it lists them (root, kind, severity, what
was seen), affects their roots, is notified once, and resolves like any other
incident when they are gone. While it is open, its faults keep updating it rather
than trickling out as incidents of their own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aiops.conf import settings
from aiops.detection.core.kinds import FaultKind
from aiops.detection.core.rca import NETWORK, SERVICE_WIDE
from aiops.detection.core.types import EndpointKey, Group
from aiops.detection.incident_fields import keys_of, next_public_id, pairs, worst
from aiops.detection.models import (
    EndpointBaseline,
    Incident,
    IncidentEvent,
    IncidentStatus,
)

STORM = "(storm)"
FINGERPRINT = f"{STORM}/{STORM}"
MAX_LISTED = 200
# Successful requests an endpoint must have been learned from before its faults
# count as those of a known endpoint (what the detectors need to judge it).
KNOWN_SAMPLES = 20
MAX_AFFECTED = 50


def is_storm(incident: Incident) -> bool:
    return incident.fingerprint == FINGERPRINT


class Budget:
    """New incidents that may still open now, for two kinds of root apart: known
    ones, learned from at least ``KNOWN_SAMPLES`` successful requests (RCA's
    pseudo-endpoints count as known), and the rest (new endpoints, made-up names
    that only ever fail). A flood of faults in services nobody has seen work,
    forged or not, spends only the second budget: a real fault of a service that
    has been watched still opens its own incident. (A client that first sends
    healthy spans for its made-up services gets past this; a key scoped to its
    own services, ``ingest_token create --service``, is the defence there.)"""

    def __init__(self, now: datetime) -> None:
        self._known: set[EndpointKey] | None = None
        since = now - timedelta(seconds=settings.AIOPS_STORM_WINDOW)
        recent = (
            Incident.objects.filter(first_detected__gt=since)
            .exclude(fingerprint=FINGERPRINT)
            .values_list("root_service", "root_endpoint")
        )
        cap = settings.AIOPS_MAX_NEW_INCIDENTS
        self.left = {True: cap, False: cap}
        for service, endpoint in recent:
            self.left[self.known(EndpointKey(service, endpoint))] -= 1

    def known(self, root: EndpointKey) -> bool:
        if root.service == NETWORK:
            return True
        if self._known is None:
            self._known = {
                EndpointKey(s, e)
                for s, e in EndpointBaseline.objects.filter(
                    sample_count__gte=KNOWN_SAMPLES
                ).values_list("service", "endpoint")
            }
        if root.endpoint == SERVICE_WIDE:  # known when its service is
            return any(key.service == root.service for key in self._known)
        return root in self._known

    def take(self, root: EndpointKey) -> bool:
        kind = self.known(root)
        if self.left[kind] <= 0:
            return False
        self.left[kind] -= 1
        return True


def member(storm: Incident | None, group: Group, budget: Budget) -> bool:
    """The group's fault is one the open storm already holds (a known
    root is never kept in a storm: it gets its own incident when it can)."""
    return (
        storm is not None
        and group.root in keys_of(storm.affected)
        and not budget.known(group.root)
    )


def absorb(
    storm: Incident | None, groups: list[Group], now: datetime
) -> tuple[Incident, bool]:
    """The storm incident updated with ``groups`` (opened if none is active);
    (incident, opened now)."""
    opened = storm is None
    if storm is None:
        storm = Incident.objects.create(
            public_id=next_public_id(now),
            fingerprint=FINGERPRINT,
            kind=FaultKind.ERRORS,
            status=IncidentStatus.OPEN,
            title="",
            root_service=STORM,
            root_endpoint=STORM,
            root_issue="",
            first_detected=now,
            last_seen=now,
            severity="low",
        )
        storm.events.create(at=now, kind=IncidentEvent.Kind.OPENED, by="system")
    listed = {
        (f["service"], f["endpoint"], f["kind"]): f
        for f in storm.evidence.get("faults", [])
    }
    for group in groups:
        root = group.root
        listed[(root.service, root.endpoint, group.kind)] = {
            "service": root.service,
            "endpoint": root.endpoint,
            "kind": str(group.kind),
            "severity": worst(*(f.severity for f in group.findings)),
            "issue": group.findings[0].summary[:200] if group.findings else "",
            "last_seen": now.isoformat(),
        }
    faults = sorted(listed.values(), key=lambda f: f["last_seen"], reverse=True)
    faults = faults[:MAX_LISTED]
    roots = sorted({EndpointKey(f["service"], f["endpoint"]) for f in faults})
    services = sorted({k.service for k in roots})
    storm.evidence = {"faults": faults}
    storm.affected = pairs(roots[:MAX_AFFECTED])
    storm.severity = worst(storm.severity or "low", *(f["severity"] for f in faults))
    if all(f["kind"] == FaultKind.LATENCY for f in faults):
        storm.kind = FaultKind.LATENCY
    shown = ", ".join(k.label() for k in roots[:3])
    storm.root_issue = (
        f"{len(faults)} faults at once, more than {settings.AIOPS_MAX_NEW_INCIDENTS} "
        f"incidents in {settings.AIOPS_STORM_WINDOW:.0f}s: grouped here"
    )
    storm.title = (
        f"Incident storm: {len(faults)} faults in {len(services)} service(s) "
        f"({shown}{', ...' if len(roots) > 3 else ''})"
    )[:300]
    storm.candidates = [
        {"service": k.service, "endpoint": k.endpoint, "score": 0.0} for k in roots[:5]
    ]
    storm.confidence = 0.0
    storm.last_seen = now
    storm.quiet_seconds = 0.0
    storm.save()
    return storm, opened
