"""Incident lifecycle across cycles: open, update, resolve by itself, reopen.

One fault is one incident: a group whose root (or whose affected endpoints) match
an active incident updates it; a recurrence within ``reopen_window`` of its
resolution reopens it; only otherwise is a new incident opened. An incident whose
anomalies stay away for ``resolve_after_cycles`` cycles resolves itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from detection.config import DetectionConfig
from detection.core.rca import NETWORK
from detection.core.types import EndpointKey, Group
from detection.models import (
    SEVERITY_RANK,
    Anomaly,
    Incident,
    IncidentStatus,
)
from detection.selectors import to_datetime

SYSTEM = "system"
MAX_TRACE_IDS = 10


@dataclass
class LifecycleSummary:
    opened: int = 0
    updated: int = 0
    reopened: int = 0
    resolved: int = 0
    # (incident, event) for those who must hear about it: opened, escalated, resolved.
    events: list[tuple[Incident, str]] = field(default_factory=list)


def _pairs(keys) -> list[list[str]]:
    return [[key.service, key.endpoint] for key in keys]


def _keys(pairs) -> set[EndpointKey]:
    return {EndpointKey(service, endpoint) for service, endpoint in pairs}


def _matches(incident: Incident, group: Group) -> bool:
    if incident.fingerprint == group.fingerprint:
        return True
    root = EndpointKey(incident.root_service, incident.root_endpoint)
    # The group explains this incident's root, or is a symptom of this incident.
    return root in set(group.affected) or group.root in _keys(incident.affected)


def _worst(*severities: str) -> str:
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, 0))


def _describe(group: Group, root_key: EndpointKey) -> tuple[str, str]:
    """(title, root issue) in the prototype's words."""
    root = next((f for f in group.findings if f.key == root_key), None)
    others = sorted({f.key.endpoint for f in group.findings if f.key != root_key})
    if root_key.service == NETWORK:
        caller, _, callee = root_key.endpoint.partition(" -> ")
        extra = group.evidence.get("network_extra_ms")
        issue = f"Slow network between {caller} and {callee}" + (
            f": calls take {extra:.0f}ms longer than the callee's own time"
            if extra
            else ""
        )
    elif root is not None:
        issue = root.summary
    else:
        symptoms = ", ".join(
            sorted({f"{f.key.endpoint} {f.short_type}" for f in group.findings})
        )
        issue = f"Origin of the anomalies seen on {symptoms}"
    kind, _, detail = issue.partition(": ")
    title = (
        f"{kind} on {root_key.endpoint}: {detail}"
        if detail and root_key.service != NETWORK
        else issue
    )
    if others:
        title += f", affecting {', '.join(others)}"
    return title[:300], issue


def _next_public_id(now: datetime) -> str:
    epoch = int(now.timestamp())
    prefix = f"INC-{epoch}-"
    taken = Incident.objects.filter(public_id__startswith=prefix).count()
    return f"{prefix}{taken + 1}"


def _merge_votes(incident: Incident, group: Group) -> list[dict]:
    """Accumulate candidate scores over cycles; the root is the overall best."""
    votes: dict[str, float] = dict(incident.evidence.get("cumulative_votes", {}))
    for candidate in group.candidates:
        label = f"{candidate.key.service}\t{candidate.key.endpoint}"
        votes[label] = votes.get(label, 0.0) + candidate.score
    incident.evidence = {**group.evidence, "cumulative_votes": votes}
    total = sum(votes.values()) or 1.0
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])[:5]
    return [
        {
            "service": label.split("\t", 1)[0],
            "endpoint": label.split("\t", 1)[1],
            "score": round(score / total, 4),
        }
        for label, score in ranked
    ]


def _apply(incident: Incident, group: Group, now: datetime) -> None:
    incident.candidates = _merge_votes(incident, group)
    best = incident.candidates[0]
    root = EndpointKey(best["service"], best["endpoint"])
    incident.root_service, incident.root_endpoint = root
    incident.title, incident.root_issue = _describe(group, root)
    # This cycle's confidence when it agrees with the accumulated root, else the
    # root's share of all evidence so far.
    incident.confidence = group.confidence if group.root == root else best["score"]
    incident.severity = _worst(
        incident.severity or "low", *(f.severity for f in group.findings)
    )
    affected = _keys(incident.affected) | set(group.affected)
    incident.affected = _pairs(sorted(affected, key=lambda k: (k != root, k)))
    failures = list(incident.correlated_failures)
    for finding in group.findings:
        label = f"{finding.key.endpoint}_{finding.short_type}"
        if label not in failures:
            failures.append(label)
    incident.correlated_failures = failures
    traces = list(incident.trace_ids)
    for finding in sorted(group.findings, key=lambda f: f.key != root):
        for trace_id in finding.example_trace_ids:
            if trace_id not in traces and len(traces) < MAX_TRACE_IDS:
                traces.append(trace_id)
    incident.trace_ids = traces
    incident.last_seen = now
    incident.quiet_cycles = 0


def _save_anomalies(incident: Incident, group: Group, now: datetime) -> None:
    existing = {(a.service, a.endpoint, a.type): a for a in incident.anomalies.all()}
    for finding in group.findings:
        anomaly = existing.get(
            (finding.key.service, finding.key.endpoint, finding.type)
        )
        if anomaly is None and not finding.opens_incident:
            # Relaxed evidence keeps what is already there alive, adds nothing new.
            continue
        if anomaly is None:
            anomaly = Anomaly(
                incident=incident,
                type=finding.type,
                service=finding.key.service,
                endpoint=finding.key.endpoint,
                first_seen=now,
            )
        anomaly.severity = finding.severity
        anomaly.summary = finding.summary[:300]
        anomaly.observed = finding.observed
        anomaly.expected = finding.expected
        anomaly.ratio = finding.ratio
        anomaly.sample_count = finding.sample_count
        anomaly.window_start = to_datetime(finding.window_start)
        anomaly.window_end = to_datetime(finding.window_end)
        anomaly.last_seen = now
        anomaly.example_trace_ids = list(finding.example_trace_ids)
        anomaly.detail = finding.detail
        anomaly.save()


def _new(group: Group, now: datetime) -> Incident:
    return Incident(
        public_id=_next_public_id(now),
        fingerprint=group.fingerprint,
        status=IncidentStatus.OPEN,
        first_detected=now,
        severity="low",
    )


def apply_groups(
    groups: list[Group], *, now: datetime, config: DetectionConfig
) -> LifecycleSummary:
    """Turn one cycle's groups into incident changes. Call inside a transaction."""
    summary = LifecycleSummary()
    active = list(Incident.objects.active().order_by("first_detected"))
    seen: set[int] = set()
    for group in groups:
        incident = next((i for i in active if _matches(i, group)), None)
        if incident is None:
            if not group.opens_incident:
                continue  # relaxed evidence keeps incidents open, never opens one
            incident = (
                Incident.objects.filter(
                    fingerprint=group.fingerprint,
                    status=IncidentStatus.RESOLVED,
                    resolved_at__gte=now - timedelta(seconds=config.reopen_window),
                )
                .order_by("-resolved_at")
                .first()
            )
            if incident is not None:
                incident.status = IncidentStatus.OPEN
                incident.resolved_at = None
                incident.resolved_by = ""
                incident.resolution_note = ""
                incident.reopen_count += 1
                summary.reopened += 1
            else:
                incident = _new(group, now)
                summary.opened += 1
            active.append(incident)
            event = "opened"
        else:
            event = None
            if incident.pk not in seen:
                summary.updated += 1
        severity_before = incident.severity
        _apply(incident, group, now)
        incident.save()
        if event is None and incident.severity != severity_before:
            event = "escalated"  # severity only ever goes up
        if event:
            summary.events.append((incident, event))
        _save_anomalies(incident, group, now)
        seen.add(incident.pk)

    for incident in active:
        if incident.pk in seen:
            continue
        incident.quiet_cycles += 1
        if incident.quiet_cycles >= config.resolve_after_cycles:
            incident.status = IncidentStatus.RESOLVED
            incident.resolved_by = SYSTEM
            incident.resolved_at = now
            incident.resolution_note = (
                f"Healthy for {incident.quiet_cycles} consecutive analysis cycles."
            )
            summary.resolved += 1
            summary.events.append((incident, "resolved"))
        incident.save(
            update_fields=[
                "quiet_cycles",
                "status",
                "resolved_by",
                "resolved_at",
                "resolution_note",
                "updated_at",
            ]
        )
    return summary
