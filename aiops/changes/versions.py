"""Deployments learned from spans: a service seen with a version it never had.

Each cycle reads which versions the spans that arrived since the previous cycle
carry (one grouped query over those rows). A version a service never had before,
when the service was already seen with another, is a deployment: a ``Change``
at the first span of the new version. A service's first version is no change,
nor is going back to a version seen before (a rollback shows as the old version's
spans again; recording it is left to the pipeline).

Versions are a small dimension per service, but a client chooses them: at most
``MAX_VERSIONS_PER_SERVICE`` are tracked per service; spans of further ones are
counted under the version ``(other)`` and open no change.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, F, Max, Min

from aiops.changes.models import Change, ChangeKind, ChangeSource, ServiceVersion
from aiops.telemetry.models import Span

MAX_VERSIONS_PER_SERVICE = 50
OTHER = "(other)"


def learn_versions(
    *, after_id: int, upto_id: int, since: datetime | None = None
) -> int:
    """Record the versions of spans with ids in (after_id, upto_id]; returns how
    many deployments were learned. A first cycle (``since``) starts at the first
    span stored that started since then, found by the time index, rather than
    scanning every id of the history."""
    if since is not None:
        first = (
            Span.objects.filter(start_time__gte=since)
            .order_by("start_time")
            .values_list("id", flat=True)
            .first()
        )
        if first is None:
            return 0
        after_id = first - 1
    spans = Span.objects.filter(id__gt=after_id, id__lte=upto_id).exclude(version="")
    seen = (
        spans.values("service", "version")
        .annotate(first=Min("start_time"), last=Max("start_time"), n=Count("id"))
        .order_by("service", "first")
    )
    learned = 0
    known: dict[str, dict[str, ServiceVersion]] = {}
    overflow: dict[str, dict] = {}
    for row in seen:
        service, version = row["service"], row["version"]
        versions = known.get(service)
        if versions is None:
            versions = {
                v.version: v for v in ServiceVersion.objects.filter(service=service)
            }
            known[service] = versions
        tracked = sum(1 for name in versions if name != OTHER)
        if version not in versions and tracked >= MAX_VERSIONS_PER_SERVICE:
            # Whatever number of them: one row per service, written once.
            other = overflow.setdefault(service, {**row, "version": OTHER, "n": 0})
            other["n"] += row["n"]
            other["first"] = min(other["first"], row["first"])
            other["last"] = max(other["last"], row["last"])
            continue
        learned += _record(versions, service, version, row)
    for service, row in overflow.items():
        _record(known[service], service, OTHER, row)
    return learned


def _record(
    versions: dict[str, ServiceVersion], service: str, version: str, row: dict
) -> int:
    """Count a version's spans; a new one is a deployment (returns 1), unless it
    is the service's first or the overflow."""
    current = versions.get(version)
    if current is not None:
        ServiceVersion.objects.filter(pk=current.pk).update(spans=F("spans") + row["n"])
        if row["last"] > current.last_seen:
            current.last_seen = row["last"]
            current.save(update_fields=["last_seen"])
        return 0
    newest = max(
        (v for v in versions.values() if v.version != OTHER),
        key=lambda v: v.last_seen,
        default=None,
    )
    versions[version] = ServiceVersion.objects.create(
        service=service,
        version=version,
        first_seen=row["first"],
        last_seen=row["last"],
        spans=row["n"],
    )
    if newest is None or version == OTHER:
        return 0
    Change.objects.create(
        service=service,
        kind=ChangeKind.DEPLOY,
        version=version,
        previous_version=newest.version,
        at=row["first"],
        source=ChangeSource.SPANS,
        recorded_by="spans",
    )
    return 1
