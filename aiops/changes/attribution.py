"""Changes as causes: was the incident's fault made by a recent change?

A change to the root's service (or to a service on the failing path) made at most
``AIOPS_CHANGE_WINDOW`` seconds before the fault began is weighed against the
spans themselves:

- When old and new versions serve side by side (a rolling deploy, a canary), they
  are compared directly: the change is blamed when the new version's requests
  fail (or are slow) significantly more often than the old one's, and cleared
  when both suffer alike (the fault is elsewhere).
- When one version serves, the change is blamed unless the new version served
  a good while healthily before the fault began (a deploy that ran well for
  minutes did not make a fault that started later).

The verdict is a candidate put first in ``root_cause.candidates`` with its
evidence in words, and ``root_cause.evidence.change``; without a change nothing
is invented. The fault's onset (its first bad span) is measured once, when the
incident opens; the verdict is reached on the spans of the five minutes after it
(re-weighed every cycle meanwhile, a pipeline may record its change late) and kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q

from aiops.changes.models import Change
from aiops.conf import settings
from aiops.detection.config import DetectionConfig
from aiops.detection.core import slowness
from aiops.detection.core.detectors import n_plus_one, query_count
from aiops.detection.core.kinds import AnomalyType, FaultKind
from aiops.detection.core.stats import binomial_tail
from aiops.detection.core.types import EndpointKey, Group
from aiops.detection.core.window import ENDPOINT_KINDS
from aiops.telemetry.models import Span

# Requests the old version needs before versions are compared, and the new one
# before "no worse than the old" clears it.
MIN_REQUESTS = 10
# A new version that served this long, this many requests, healthily before the
# fault began did not make it.
HEALTHY_SECONDS = 120.0
HEALTHY_REQUESTS = 20
# How unlikely the new version's share of bad requests must be under the old's.
SIGNIFICANCE = 1e-3
# The verdict is reached on the spans up to this long after the fault began,
# and kept after that: every cycle's queries stay bounded, however long the
# incident lasts.
DECIDE_WITHIN = 300.0


@dataclass
class Tally:
    requests: int = 0
    bad: int = 0

    @property
    def share(self) -> float:
        return self.bad / self.requests if self.requests else 0.0

    def words(self, what: str) -> str:
        return f"{self.bad} of {self.requests} requests {what}"


def _onset(group: Group) -> datetime:
    """When the fault began: the first bad span of the root's service (the
    start of the evidence where its detector does not say)."""
    findings = [f for f in group.findings if f.key.service == group.root.service]
    findings = findings or group.findings
    first = min(f.window_start if f.onset is None else f.onset for f in findings)
    return datetime.fromtimestamp(first, tz=UTC)


def _endpoints(group: Group, service: str) -> list[str]:
    names = {k.endpoint for k in group.affected if k.service == service}
    names.discard("*")
    return sorted(names)


def _spans(service: str, endpoints: list[str], since: datetime, until: datetime):
    spans = Span.objects.filter(
        service=service,
        kind__in=ENDPOINT_KINDS,
        start_time__gte=since,
        start_time__lt=until,
    )
    if endpoints:
        spans = spans.filter(endpoint__in=endpoints)
    return spans


def _threshold_ms(group: Group, service: str) -> float | None:
    """Above what a request of the service counts as slow: the detectors' own
    definition, against the lowest latency its findings expected."""
    expected = [
        f.expected
        for f in group.findings
        if f.key.service == service
        and f.expected
        and f.type in (AnomalyType.LATENCY, AnomalyType.SHIFT, AnomalyType.SERIES)
    ]
    if not expected:
        return None
    return slowness.threshold_ms(DetectionConfig.from_settings(), min(expected))


def _bad(kind: str, threshold_ms: float | None) -> Count:
    """Counts the bad requests: failed, or (latency) served slower than that."""
    if kind == FaultKind.ERRORS or threshold_ms is None:
        return Count("id", filter=Q(is_error=True))
    return Count("id", filter=Q(is_error=False, duration_ms__gt=threshold_ms))


def _too_many_queries(group: Group, service: str) -> Count:
    """Counts the requests that showed the query fault: an N+1's repeats, or
    the multiple of the usual query count the regression detector flags."""
    flagged = Q(top_query_count__gte=n_plus_one.MIN_REPEATS)
    levels = [
        f.expected
        for f in group.findings
        if f.key.service == service and f.type == AnomalyType.QUERY_COUNT
    ]
    if levels:
        level = min(levels)
        floor = max(query_count.RATIO * level, level + query_count.MIN_EXTRA)
        flagged |= Q(query_count__gte=floor)
    return Count("id", filter=flagged)


def _tally(spans, bad: Count) -> Tally:
    row = spans.aggregate(n=Count("id"), bad=bad)
    return Tally(row["n"], row["bad"])


def _by_version(spans, bad: Count) -> dict[str, Tally]:
    rows = spans.values("version").annotate(n=Count("id"), bad=bad).order_by()
    return {row["version"]: Tally(row["n"], row["bad"]) for row in rows}


def _describe_fault(kind: str, service: str) -> str:
    if kind == FaultKind.QUERIES:
        return f"too many queries on {service}"
    return f"{'errors' if kind == FaultKind.ERRORS else 'slow requests'} on {service}"


def _verdict(
    change: Change, group: Group, kind: str, onset: datetime, now: datetime
) -> dict | None:
    service = change.service
    endpoints = _endpoints(group, service)
    threshold = _threshold_ms(group, service)
    bad = _bad(kind, threshold)
    what = "failed" if kind == FaultKind.ERRORS or threshold is None else "were slow"
    if kind == FaultKind.QUERIES:
        bad, what = _too_many_queries(group, service), "ran too many queries"
    lag = (onset - change.at).total_seconds()
    fault = _describe_fault(kind, service)
    summary = f"{fault} started {max(lag, 0):.0f} s after {change.describe()}"
    until = min(now, onset + timedelta(seconds=DECIDE_WITHIN))
    after = _spans(service, endpoints, change.at, until)
    blamed_version = ""
    if change.version:
        versions = _by_version(after, bad)
        new = versions.pop(change.version, Tally())
        old = Tally(
            sum(t.requests for t in versions.values()),
            sum(t.bad for t in versions.values()),
        )
        if new.requests and old.requests >= MIN_REQUESTS:
            # Side by side in the same minutes: the versions say it directly,
            # once the new one is significantly worse, or has served enough
            # requests to say it is not (a few canary requests say neither).
            rate = max(old.share, 0.01)
            if binomial_tail(new.bad, new.requests, rate) < SIGNIFICANCE:
                others = ", ".join(sorted(v or "(none)" for v in versions))
                summary += (
                    f"; {new.words(what)} on {change.version}, "
                    f"{old.words(what)} on {others} in the same minutes"
                )
                blamed_version = change.version
            elif new.requests >= MIN_REQUESTS:
                return None  # the new version is no worse: the fault is elsewhere
    if not blamed_version:
        before_fault = _tally(_spans(service, endpoints, change.at, onset), bad)
        if (
            lag > HEALTHY_SECONDS
            and before_fault.requests >= HEALTHY_REQUESTS
            and before_fault.share < 0.05
        ):
            return None  # it served well for minutes: the fault came later
        span = max((until - change.at).total_seconds(), 60.0)
        earlier = change.at - timedelta(seconds=span)
        before = _tally(_spans(service, endpoints, earlier, change.at), bad)
        if before.requests:
            summary += f"; before it {before.words(what)}"
    window = float(settings.AIOPS_CHANGE_WINDOW)
    return {
        "id": change.pk,
        "kind": change.kind,
        "service": service,
        "version": change.version,
        "previous_version": change.previous_version,
        "at": change.at.isoformat(),
        "source": change.source,
        "note": change.note,
        "lag_seconds": round(lag, 1),
        "blamed_version": blamed_version,
        "summary": summary,
        "score": round(max(0.5, 1.0 - max(lag, 0.0) / (2 * window)), 3),
    }


def explain(incident, group: Group, *, now: datetime) -> dict | None:
    """The change that made this incident's fault, with its evidence, or None.

    Stores the fault's onset in ``incident.evidence`` the first time."""
    if incident.kind == FaultKind.TRAFFIC:
        # A surge or a drop is how many requests came, not how they were
        # served: there are no bad requests to compare before and after.
        return None
    evidence = incident.evidence
    if evidence.get("onset"):
        onset = datetime.fromisoformat(evidence["onset"])
        if (now - onset).total_seconds() > DECIDE_WITHIN:
            return evidence.get("change")
    else:
        onset = _onset(group)
        evidence["onset"] = onset.isoformat()
    window = timedelta(seconds=float(settings.AIOPS_CHANGE_WINDOW))
    # A little after the onset too: a pipeline records its deploy when it ends.
    path = [group.root.service]
    path += [k.service for k in group.affected if k.service not in path]
    changes = Change.objects.filter(
        service__in=path, at__gte=onset - window, at__lte=onset + timedelta(seconds=5)
    ).order_by("-at", "-id")
    ranked = sorted(changes[:20], key=lambda c: path.index(c.service))
    for change in ranked:
        verdict = _verdict(change, group, incident.kind, onset, now)
        if verdict is not None:
            return verdict
    return None


def put_first(candidates: list[dict], verdict: dict, root: EndpointKey) -> list[dict]:
    """The change as the first candidate, pointing at the endpoint it broke."""
    endpoint = root.endpoint if verdict["service"] == root.service else "*"
    first = {
        "service": verdict["service"],
        "endpoint": endpoint,
        "score": verdict["score"],
        "change": {
            k: verdict[k]
            for k in ("id", "kind", "version", "previous_version", "at", "source")
        },
        "evidence": verdict["summary"],
    }
    rest = [c for c in candidates if "change" not in c]
    return [first, *rest][:5]
