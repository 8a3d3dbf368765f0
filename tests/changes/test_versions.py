"""Versions learned from spans by the analysis cycle: deployments, and the cap."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aiops.changes.models import Change, ServiceVersion
from aiops.changes.versions import MAX_VERSIONS_PER_SERVICE, OTHER
from aiops.telemetry.records import SpanRecord
from aiops.telemetry.store import insert_spans
from tests.detection.traffic import T0, run_cycles

pytestmark = pytest.mark.django_db


def spans(start: float, seconds: int, version, service="payment"):
    return [
        SpanRecord(
            service=service,
            endpoint="charge",
            start_time=datetime.fromtimestamp(start + k, tz=UTC),
            duration_ms=20.0,
            status_code=200,
            version=version(k) if callable(version) else version,
        )
        for k in range(seconds)
    ]


def test_a_new_version_is_a_deployment_once_and_the_first_is_none():
    insert_spans(spans(T0, 60, "1.0"))
    insert_spans(spans(T0, 60, "7", service="orders"))
    run_cycles(T0, T0 + 60)
    insert_spans(spans(T0 + 60, 60, lambda k: "1.1" if k >= 30 else "1.0"))
    run_cycles(T0 + 60, T0 + 180)

    (change,) = Change.objects.all()
    assert (change.service, change.version, change.previous_version) == (
        "payment",
        "1.1",
        "1.0",
    )
    assert change.at == datetime.fromtimestamp(T0 + 90, tz=UTC)
    assert change.kind == "deploy" and change.source == "spans"
    assert dict(
        ServiceVersion.objects.filter(service="payment").values_list("version", "spans")
    ) == {"1.0": 90, "1.1": 30}


def test_versions_past_the_cap_are_counted_under_other_and_deploy_nothing():
    insert_spans(spans(T0, 60, "0"))
    run_cycles(T0, T0 + 60)
    insert_spans(spans(T0 + 60, 100, lambda k: f"v{k}"))
    run_cycles(T0 + 60, T0 + 180)

    versions = dict(ServiceVersion.objects.values_list("version", "spans"))
    assert len(versions) == MAX_VERSIONS_PER_SERVICE + 1
    assert versions[OTHER] == 100 - (MAX_VERSIONS_PER_SERVICE - 1)
    assert Change.objects.count() == MAX_VERSIONS_PER_SERVICE - 1
