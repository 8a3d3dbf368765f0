"""Incident lifecycle across cycles: open, update, resolve by itself, reopen.

What makes findings one fault (DESIGN.md, "Incidents"): one root and one kind of
fault (``Group.kind``: errors, or latency including not answering at all) that
overlap in time. A cycle's group updates the active incident with its root and
kind; failing that, an incident that is still current (seen within the window)
whose affected endpoints hold the group's root (or whose root the group affects),
so a root that RCA names more precisely a cycle later stays one incident. A fault of
another kind or at another root opens its own incident, even beside an active
one. A resolved incident of the same root and kind reopens within
``reopen_window`` of its resolution ("the same fault recurring"); after an
operator's resolve, only evidence that started afterwards counts (the analysis
demotes older evidence, see ``CycleInput.evidence_since``).

The cycle owns the descriptive fields (title, root, candidates, evidence,
affected, severity, last_seen) and writes only those, on rows it has locked;
status changes are conditional UPDATEs (``Incident.resolve`` / ``reopen``). An
operator's acknowledge or resolve therefore never gets lost to a cycle, nor a
cycle's update to an operator. An incident resolves itself once its anomalies
have been absent for ``resolve_after`` seconds, whatever the cycles' spacing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiops.changes import attribution
from aiops.detection import storms
from aiops.detection.config import DetectionConfig
from aiops.detection.core.types import EndpointKey, Group
from aiops.detection.incident_fields import (
    affected_now,
    apply_group,
    keys_of,
    next_public_id,
    root_of,
    save_anomalies,
    title_for,
)
from aiops.detection.models import (
    SEVERITY_RANK,
    SYSTEM_ACTOR,
    Incident,
    IncidentEvent,
    IncidentStatus,
)
from aiops.detection.selectors import operator_resolutions

SYSTEM = SYSTEM_ACTOR
# The fields an analysis cycle writes; everything else belongs to operators.
CYCLE_FIELDS = [
    "title",
    "severity",
    "root_service",
    "root_endpoint",
    "root_issue",
    "confidence",
    "candidates",
    "evidence",
    "affected",
    "correlated_failures",
    "trace_ids",
    "last_seen",
    "quiet_seconds",
    "updated_at",
]


@dataclass
class LifecycleSummary:
    opened: int = 0
    updated: int = 0
    reopened: int = 0
    resolved: int = 0
    # (incident, event) for those who must hear about it: opened, escalated, resolved.
    events: list[tuple[Incident, str]] = field(default_factory=list)


def _same_fault(incident: Incident, group: Group) -> bool:
    return incident.kind == group.kind and (
        incident.fingerprint == group.fingerprint or root_of(incident) == group.root
    )


def _refined(incident: Incident, group: Group, now: datetime, config) -> bool:
    """The same fault seen from another side this cycle: a current incident of the
    same kind whose affected endpoints include the group's root, or whose root the
    group affects (RCA names the root more precisely once more traces arrive)."""
    current = now - incident.last_seen <= timedelta(seconds=config.effective_window)
    return (
        current
        and incident.kind == group.kind
        and (
            group.root in keys_of(incident.affected)
            or root_of(incident) in set(group.affected)
        )
    )


def _strength(group: Group) -> tuple:
    severity = max(SEVERITY_RANK.get(f.severity, 0) for f in group.findings)
    samples = sum(f.sample_count for f in group.findings)
    return (not group.opens_incident, -severity, -samples, group.fingerprint)


def _new(group: Group, now: datetime) -> Incident:
    return Incident.objects.create(
        public_id=next_public_id(now),
        fingerprint=group.fingerprint,
        kind=group.kind,
        status=IncidentStatus.OPEN,
        title="",
        root_service=group.root.service,
        root_endpoint=group.root.endpoint,
        root_issue="",
        first_detected=now,
        last_seen=now,
        severity="low",
    )


def _reopenable(
    group: Group, active: list[Incident], now: datetime, config
) -> Incident | None:
    recent = (
        Incident.objects.filter(
            status=IncidentStatus.RESOLVED,
            kind=group.kind,
            resolved_at__gte=now - timedelta(seconds=config.reopen_window),
        )
        # One active incident per fingerprint (a database constraint).
        .exclude(fingerprint__in=[i.fingerprint for i in active])
        .order_by("-resolved_at")
    )
    return recent.filter(fingerprint=group.fingerprint).first() or (
        recent.filter(
            root_service=group.root.service, root_endpoint=group.root.endpoint
        ).first()
    )


def _resolved_meanwhile(
    judged_with: dict[EndpointKey, float], now: datetime, config
) -> set[EndpointKey]:
    """Endpoints an operator resolved an incident of after the cycle read its
    input (its evidence was judged without that resolve's cut-off)."""
    latest = operator_resolutions(now, config)
    return {
        key
        for key, since in latest.items()
        if since > judged_with.get(key, float("-inf"))
    }


def _blame_change(incident: Incident, group: Group, now: datetime) -> None:
    """Put the change that made the fault first among the candidates, and say so
    in the timeline the first time (changes.attribution)."""
    before = incident.evidence.get("change")
    verdict = attribution.explain(incident, group, now=now)
    incident.evidence["change"] = verdict
    if verdict is None:
        return
    incident.candidates = attribution.put_first(
        incident.candidates, verdict, root_of(incident)
    )
    if before is None or before.get("id") != verdict["id"]:
        incident.events.create(
            at=now,
            kind=IncidentEvent.Kind.CHANGE,
            by=SYSTEM,
            note=verdict["summary"][:500],
        )


def apply_groups(
    groups: list[Group],
    *,
    now: datetime,
    config: DetectionConfig,
    previous: datetime | None = None,
    judged_with: dict[EndpointKey, float] | None = None,
) -> LifecycleSummary:
    """Turn one cycle's groups into incident changes. Call inside a transaction.

    ``previous`` is the previous cycle's time (None on the first cycle or after
    the clock stepped back); ``judged_with`` the operators' resolutions the
    cycle's evidence was judged with (``CycleInput.evidence_since``)."""
    summary = LifecycleSummary()
    # Locked until the cycle commits: an operator's action on one of these waits
    # for the cycle (and then applies to what the cycle wrote), and the cycle
    # sees any action committed before it.
    active = list(
        Incident.objects.active().select_for_update().order_by("first_detected")
    )
    stale = _resolved_meanwhile(judged_with or {}, now, config)
    storm = next((i for i in active if storms.is_storm(i)), None)
    faults = [i for i in active if not storms.is_storm(i)]
    budget = storms.Budget(now)
    stormed: list[Group] = []
    touched: dict[int, Incident] = {}
    # The strongest evidence first (severity, then how much of it): it claims its
    # incident, and the budget of new ones, before weaker groups.
    for group in sorted(groups, key=_strength):
        incident = next((i for i in faults if _same_fault(i, group)), None) or next(
            (i for i in faults if _refined(i, group, now, config)), None
        )
        event = None
        if incident is None and storms.member(storm, group, budget):
            stormed.append(group)
            continue
        if incident is None:
            if not group.opens_incident or stale & set(group.affected):
                # Relaxed evidence keeps incidents open, never opens one; nor does
                # evidence judged before an operator's resolve of it committed.
                continue
            if not budget.take(group.root):
                stormed.append(group)
                continue
            incident = _reopenable(group, active, now, config)
            if incident is not None and incident.reopen(
                at=now, note=f"{group.kind} on {group.root.label()} again"
            ):
                summary.reopened += 1
            else:
                incident = _new(group, now)
                incident.events.create(
                    at=now, kind=IncidentEvent.Kind.OPENED, by=SYSTEM
                )
                summary.opened += 1
            active.append(incident)
            faults.append(incident)
            event = "opened"
        elif incident.pk not in touched:
            summary.updated += 1
        severity_before = incident.severity
        apply_group(incident, group, now)
        _blame_change(incident, group, now)
        save_anomalies(incident, group, now)
        affected_now(incident, now, config)
        incident.title = title_for(
            incident.root_issue, root_of(incident), sorted(keys_of(incident.affected))
        )
        incident.save(update_fields=CYCLE_FIELDS)
        if event is None and incident.severity != severity_before:
            event = "escalated"  # severity only ever goes up
            incident.events.create(
                at=now,
                kind=IncidentEvent.Kind.ESCALATED,
                by=SYSTEM,
                note=f"{severity_before} -> {incident.severity}",
            )
        if event:
            summary.events.append((incident, event))
        touched[incident.pk] = incident

    if stormed:
        before = storm.severity if storm else None
        storm, opened = storms.absorb(storm, stormed, now)
        touched[storm.pk] = storm
        if opened:
            active.append(storm)
            summary.opened += 1
            summary.events.append((storm, "opened"))
        elif storm.severity != before:
            summary.events.append((storm, "escalated"))

    for incident in active:
        if incident.pk in touched:
            continue
        # Healthy time is analysed time: at most a window per cycle, so a clock
        # jump or a stopped analysis does not resolve anything by itself.
        since = max(incident.last_seen, previous or incident.last_seen)
        credit = min(max((now - since).total_seconds(), 0.0), config.effective_window)
        incident.quiet_seconds += credit
        if incident.quiet_seconds < config.resolve_after:
            incident.save(update_fields=["quiet_seconds"])
            continue
        if incident.resolve(
            by=SYSTEM,
            at=now,
            note=f"Healthy for {incident.quiet_seconds:.0f}s (no anomalies).",
        ):
            summary.resolved += 1
            summary.events.append((incident, "resolved"))
    return summary
