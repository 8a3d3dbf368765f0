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

from detection.config import DetectionConfig
from detection.core.kinds import AnomalyType
from detection.core.rca import NETWORK
from detection.core.types import EndpointKey, Finding, Group
from detection.models import (
    SEVERITY_RANK,
    SYSTEM_ACTOR,
    Anomaly,
    Incident,
    IncidentEvent,
    IncidentStatus,
)
from detection.selectors import operator_resolutions, to_datetime

SYSTEM = SYSTEM_ACTOR
MAX_TRACE_IDS = 10
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


def _pairs(keys) -> list[list[str]]:
    return [[key.service, key.endpoint] for key in keys]


def _keys(pairs) -> set[EndpointKey]:
    return {EndpointKey(service, endpoint) for service, endpoint in pairs}


def _root(incident: Incident) -> EndpointKey:
    return EndpointKey(incident.root_service, incident.root_endpoint)


def _same_fault(incident: Incident, group: Group) -> bool:
    return incident.kind == group.kind and (
        incident.fingerprint == group.fingerprint or _root(incident) == group.root
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
            group.root in _keys(incident.affected)
            or _root(incident) in set(group.affected)
        )
    )


def _worst(*severities: str) -> str:
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, 0))


# Within a kind, which observation is worse: not answering beats slow answers,
# which beat a shifted median; then the larger departure from normal.
_GRAVITY = {
    AnomalyType.SILENCE: 3,
    AnomalyType.LATENCY: 2,
    AnomalyType.SHIFT: 1,
    AnomalyType.ERRORS: 2,
}


def _badness(finding: Finding | None) -> list[float]:
    if finding is None:
        return [0.0, 0.0]
    if finding.type == AnomalyType.ERRORS:
        score = finding.observed
    elif finding.type == AnomalyType.SILENCE:
        score = finding.expected
    else:
        score = finding.ratio
    return [float(_GRAVITY[finding.type]), round(score, 6)]


def _root_finding(group: Group, root: EndpointKey) -> Finding | None:
    own = [f for f in group.findings if f.key == root]
    return max(own, key=_badness, default=None)


def _describe(group: Group, root_key: EndpointKey, finding: Finding | None) -> str:
    """The root issue in the prototype's words."""
    if root_key.service == NETWORK:
        caller, _, callee = root_key.endpoint.partition(" -> ")
        extra = group.evidence.get("network_extra_ms")
        return f"Slow network between {caller} and {callee}" + (
            f": calls take {extra:.0f}ms longer than the callee's own time"
            if extra
            else ""
        )
    if finding is not None:
        return finding.summary
    symptoms = ", ".join(
        sorted({f"{f.key.endpoint} {f.type.short}" for f in group.findings})
    )
    return f"Origin of the anomalies seen on {symptoms}"


def _title(issue: str, root: EndpointKey, affected: list[EndpointKey]) -> str:
    kind, _, detail = issue.partition(": ")
    title = issue
    if detail and root.service != NETWORK:
        title = f"{kind} on {root.endpoint}: {detail}"
    others = sorted({k.endpoint for k in affected if k != root})
    if others:
        title += f", affecting {', '.join(others)}"
    return title[:300]


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
    total = sum(votes.values()) or 1.0
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])[:5]
    incident.evidence = {
        **group.evidence,
        "cumulative_votes": votes,
        "peak": incident.evidence.get("peak"),
    }
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
    rerooted = root != _root(incident)
    incident.root_service, incident.root_endpoint = root
    # The title keeps the worst observation of the root so far: a fault's first
    # minute is not rewritten by the diluted windows of its last.
    finding = _root_finding(group, root)
    badness = _badness(finding)
    peak = incident.evidence.get("peak")
    if rerooted or not incident.root_issue or peak is None or badness >= peak:
        incident.root_issue = _describe(group, root, finding)
        incident.evidence["peak"] = badness
    # This cycle's confidence when it agrees with the accumulated root, else the
    # root's share of all evidence so far.
    incident.confidence = group.confidence if group.root == root else best["score"]
    incident.severity = _worst(
        incident.severity or "low", *(f.severity for f in group.findings)
    )
    failures = list(incident.correlated_failures)
    for finding in group.findings:
        label = f"{finding.key.endpoint}_{finding.type.short}"
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
    incident.quiet_seconds = 0.0


def _save_anomalies(incident: Incident, group: Group, now: datetime) -> None:
    existing = {(a.service, a.endpoint, a.type): a for a in incident.anomalies.all()}
    at = now.isoformat()
    for finding in group.findings:
        anomaly = existing.get(
            (finding.key.service, finding.key.endpoint, finding.type.value)
        )
        if anomaly is None and not finding.opens_incident:
            # Relaxed evidence keeps what is already there alive, adds nothing new.
            continue
        if anomaly is None:
            anomaly = Anomaly(
                incident=incident,
                type=finding.type.value,
                service=finding.key.service,
                endpoint=finding.key.endpoint,
                first_seen=now,
            )
            existing[(anomaly.service, anomaly.endpoint, anomaly.type)] = anomaly
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
        observation = {
            "at": at,
            "observed": round(finding.observed, 4),
            "expected": round(finding.expected, 4),
            "samples": finding.sample_count,
        }
        anomaly.history = (list(anomaly.history) + [observation])[
            -Anomaly.HISTORY_LIMIT :
        ]
        anomaly.save()


def _affected_now(incident: Incident, now: datetime, config) -> None:
    """The endpoints the fault shows on now (root first), not a union of history."""
    recent = now - timedelta(seconds=config.effective_window)
    keys = {
        EndpointKey(a.service, a.endpoint)
        for a in incident.anomalies.all()
        if a.last_seen >= recent
    }
    root = _root(incident)
    keys.add(root)
    incident.affected = _pairs(sorted(keys, key=lambda k: (k != root, k)))


def _new(group: Group, now: datetime) -> Incident:
    return Incident.objects.create(
        public_id=_next_public_id(now),
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
    touched: dict[int, Incident] = {}
    # The strongest evidence first: it claims its incident before weaker groups.
    for group in sorted(groups, key=lambda g: not g.opens_incident):
        incident = next((i for i in active if _same_fault(i, group)), None) or next(
            (i for i in active if _refined(i, group, now, config)), None
        )
        event = None
        if incident is None:
            if not group.opens_incident or stale & set(group.affected):
                # Relaxed evidence keeps incidents open, never opens one; nor does
                # evidence judged before an operator's resolve of it committed.
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
            event = "opened"
        elif incident.pk not in touched:
            summary.updated += 1
        severity_before = incident.severity
        _apply(incident, group, now)
        _save_anomalies(incident, group, now)
        _affected_now(incident, now, config)
        incident.title = _title(
            incident.root_issue, _root(incident), sorted(_keys(incident.affected))
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
