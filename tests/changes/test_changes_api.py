"""Change events through their public surfaces: the API (a deploy pipeline with a
staff token), ``manage.py record_change``, the admin; the regression view."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from aiops.changes.models import Change
from aiops.telemetry.records import SpanRecord
from aiops.telemetry.store import insert_spans

pytestmark = pytest.mark.django_db


def test_a_pipeline_records_a_deploy_and_lists_it(staff_client, user_client):
    response = staff_client.post(
        "/aiops/changes",
        {"service": "payment", "version": "1.4.2", "note": "release 42"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "deploy" and body["source"] == "api"
    assert body["recorded_by"] == "operator"
    assert body["description"] == "payment 1.4.2 deployed: release 42"
    listed = user_client.get("/aiops/changes?service=payment").json()
    assert [c["id"] for c in listed["results"]] == [body["id"]]
    assert user_client.get("/aiops/changes?service=other").json()["results"] == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"version": "1"}, "service"),
        ({"service": "  ", "version": "1"}, "service"),
        ({"service": "payment", "kind": "deployy", "version": "1"}, "kind"),
        ({"service": "payment"}, "version"),
        ({"service": "payment", "version": "x" * 65}, "version"),
        ({"service": "payment", "version": "1", "at": "yesterday"}, "at"),
        (
            {
                "service": "payment",
                "version": "1",
                "at": (timezone.now() + timedelta(hours=1)).isoformat(),
            },
            "at",
        ),
        ({"service": "payment", "kind": "flag", "note": "n" * 501}, "note"),
    ],
)
def test_bad_changes_are_400_naming_the_field_and_store_nothing(
    staff_client, data, field
):
    response = staff_client.post("/aiops/changes", data, format="json")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert Change.objects.count() == 0


def test_only_staff_record_changes(user_client, client):
    data = {"service": "payment", "version": "2"}
    assert user_client.post("/aiops/changes", data, format="json").status_code == 403
    assert client.post("/aiops/changes", data).status_code == 401
    assert Change.objects.count() == 0


def _spans(start: float, seconds: float, *, ms: float, version: str, errors=0.0):
    rng = random.Random(int(start))
    return [
        SpanRecord(
            service="payment",
            endpoint="charge",
            start_time=datetime.fromtimestamp(start + k * 0.5, tz=UTC),
            duration_ms=ms * rng.uniform(0.9, 1.1),
            status_code=500 if rng.random() < errors else 200,
            is_error=False,
            version=version,
        )
        for k in range(int(seconds * 2))
    ]


def test_a_change_shows_what_it_did_to_its_endpoints(staff_client):
    now = timezone.now().timestamp()
    at = now - 120
    insert_spans(_spans(at - 120, 120, ms=100, version="1.4.1"))
    insert_spans(_spans(at, 60, ms=100, version="1.4.1"))
    insert_spans(_spans(at + 0.25, 60, ms=150, version="1.4.2"))
    created = staff_client.post(
        "/aiops/changes",
        {
            "service": "payment",
            "version": "1.4.2",
            "at": datetime.fromtimestamp(at, tz=UTC).isoformat(),
        },
        format="json",
    ).json()

    body = staff_client.get(f"/aiops/changes/{created['id']}").json()

    (row,) = body["impact"]["endpoints"]
    assert row["endpoint"] == "charge"
    assert row["before"]["requests"] == 240 and row["after"]["requests"] == 240
    assert 95 < row["before"]["p95_ms"] < 115
    assert 140 < row["after"]["p95_ms"] < 170
    assert row["summary"].startswith("p95 +") and row["summary"].endswith("since 1.4.2")
    versions = row["after_by_version"]
    assert set(versions) == {"1.4.1", "1.4.2"}
    assert versions["1.4.2"]["p50_ms"] > 1.3 * versions["1.4.1"]["p50_ms"]


def test_record_change_command():
    out = io.StringIO()
    call_command(
        "record_change",
        "--service",
        "payment",
        "--kind",
        "flag",
        "--note",
        "new-checkout on for 10 %",
        stdout=out,
    )

    printed = json.loads(out.getvalue())
    change = Change.objects.get()
    assert printed["id"] == change.pk
    assert change.source == "command"
    assert printed["change"] == "payment feature flag changed: new-checkout on for 10 %"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--service", "payment"], "--version: a deployment needs"),
        (["--service", "payment", "--version", "2", "--at", "noon"], "--at:"),
        (["--service", "", "--version", "2"], "--service: must not be empty"),
    ],
)
def test_record_change_refuses_bad_input_cleanly(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("record_change", *args)
    assert Change.objects.count() == 0


def test_changes_are_listed_in_the_admin(client):
    from django.contrib.auth import get_user_model

    Change.objects.create(
        service="payment",
        version="1.4.2",
        at=timezone.now(),
        source="api",
        recorded_by="ci",
    )
    root = get_user_model().objects.create_superuser("root", "r@x.org", "pw")
    client.force_login(root)

    page = client.get("/admin/changes/change/")

    assert page.status_code == 200
    assert b"1.4.2" in page.content
    assert client.get("/admin/changes/serviceversion/").status_code == 200
