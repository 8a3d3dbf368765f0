"""What an incident says, updated from one cycle's group: root and candidates,
title and issue (keeping the worst observation), severity, anomalies with their
per-cycle history, and the endpoints affected now. The cycle owns these fields
(``lifecycle.CYCLE_FIELDS``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiops.detection.core.database import DATABASE
from aiops.detection.core.kinds import AnomalyType
from aiops.detection.core.rca import NETWORK, SERVICE_WIDE
from aiops.detection.core.types import EndpointKey, Finding, Group
from aiops.detection.models import SEVERITY_RANK, Anomaly, Incident
from aiops.detection.selectors import to_datetime

MAX_TRACE_IDS = 10


def pairs(keys) -> list[list[str]]:
    return [[key.service, key.endpoint] for key in keys]


def keys_of(pairs) -> set[EndpointKey]:
    return {EndpointKey(service, endpoint) for service, endpoint in pairs}


def root_of(incident: Incident) -> EndpointKey:
    return EndpointKey(incident.root_service, incident.root_endpoint)


def worst(*severities: str) -> str:
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, 0))


# Within a kind, which observation is worse: not answering beats slow answers,
# which beat a shifted median; then the larger departure from normal.
_GRAVITY = {
    AnomalyType.SILENCE: 3,
    AnomalyType.LATENCY: 2,
    AnomalyType.SHIFT: 1,
    AnomalyType.SERIES: 1,
    AnomalyType.ERRORS: 2,
    AnomalyType.CALLS: 1,
    # The N+1 names the statement; a higher count alone says less.
    AnomalyType.N_PLUS_ONE: 2,
    AnomalyType.QUERY_COUNT: 1,
    AnomalyType.TRAFFIC_DROP: 1,
    AnomalyType.TRAFFIC_SURGE: 1,
}


def _badness(finding: Finding | None) -> list[float]:
    if finding is None:
        return [0.0, 0.0]
    if finding.type == AnomalyType.ERRORS:
        score = finding.observed
    elif finding.type == AnomalyType.SILENCE:
        score = finding.expected
    elif finding.type in (AnomalyType.CALLS, AnomalyType.TRAFFIC_DROP):
        score = 1.0 - finding.ratio
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
    if root_key.service == DATABASE:
        return _describe_database(group, root_key, finding)
    if root_key.endpoint == SERVICE_WIDE:
        slowed = group.evidence.get("service_wide", [])
        return (
            f"Service-wide slowdown of {root_key.service}: {len(slowed)} endpoints "
            f"slower together ({', '.join(slowed[:4])}"
            + (", ..." if len(slowed) > 4 else "")
            + "): CPU starvation, a noisy neighbour or a slow host?"
        )
    if "slow_hops" in group.evidence and (
        finding is None or finding.kind != group.kind
    ):
        extra = group.evidence.get("network_extra_ms")
        hops = group.evidence["slow_hops"]
        called = all(h.endswith(f" -> {root_key.service}") for h in hops)
        side = "to" if called else "from"
        return (
            f"Slow calls {side} {root_key.service}: {', '.join(hops[:4])} take "
            f"{extra or 0:.0f}ms longer than the callee's own time"
        )
    if finding is not None:
        return finding.summary
    symptoms = ", ".join(
        sorted({f"{f.key.endpoint} {f.type.short}" for f in group.findings})
    )
    return f"Origin of the anomalies seen on {symptoms}"


def _describe_database(
    group: Group, root_key: EndpointKey, finding: Finding | None
) -> str:
    """The database as the root (``core.database``): the time its callers'
    requests spent in queries."""
    if root_key.endpoint == SERVICE_WIDE:
        slowed = group.evidence.get("service_wide", [])
        return (
            f"Slow database: the queries of {', '.join(slowed[:4])}"
            + (", ..." if len(slowed) > 4 else "")
            + " slower together"
        )
    if finding is not None and finding.type in (
        AnomalyType.LATENCY,
        AnomalyType.SHIFT,
    ):
        return (
            f"Slow database: queries of {root_key.endpoint} take "
            f"{finding.observed:.0f}ms per request (usually {finding.expected:.0f}ms)"
        )
    symptoms = ", ".join(
        sorted({f.key.endpoint for f in group.findings if f.key != root_key})
    )
    return f"Slow database: the queries of {root_key.endpoint} slow down {symptoms}"


def title_for(issue: str, root: EndpointKey, affected: list[EndpointKey]) -> str:
    kind, _, detail = issue.partition(": ")
    title = issue
    if (
        detail
        and root.service != NETWORK
        and root.service not in kind
        and not kind.endswith(f" in {root.endpoint}")
    ):
        title = f"{kind} on {root.endpoint}: {detail}"
    others = sorted({k.endpoint for k in affected if k != root})
    if others:
        title += f", affecting {', '.join(others)}"
    return title[:300]


# What an incident keeps from cycle to cycle: its worst observation, when its
# fault began, the change blamed for it (changes.attribution).
CARRIED_EVIDENCE = ("peak", "onset", "change")


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
        **{key: incident.evidence.get(key) for key in CARRIED_EVIDENCE},
    }
    return [
        {
            "service": label.split("\t", 1)[0],
            "endpoint": label.split("\t", 1)[1],
            "score": round(score / total, 4),
        }
        for label, score in ranked
    ]


def apply_group(incident: Incident, group: Group, now: datetime) -> None:
    incident.candidates = _merge_votes(incident, group)
    best = incident.candidates[0]
    root = EndpointKey(best["service"], best["endpoint"])
    rerooted = root != root_of(incident)
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
    incident.severity = worst(
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


def save_anomalies(incident: Incident, group: Group, now: datetime) -> None:
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


def affected_now(incident: Incident, now: datetime, config) -> None:
    """The endpoints the fault shows on now (root first), not a union of history."""
    recent = now - timedelta(seconds=config.effective_window)
    keys = {
        EndpointKey(a.service, a.endpoint)
        for a in incident.anomalies.all()
        if a.last_seen >= recent
    }
    root = root_of(incident)
    keys.add(root)
    incident.affected = pairs(sorted(keys, key=lambda k: (k != root, k)))


def next_public_id(now: datetime) -> str:
    epoch = int(now.timestamp())
    prefix = f"INC-{epoch}-"
    taken = Incident.objects.filter(public_id__startswith=prefix).count()
    return f"{prefix}{taken + 1}"
