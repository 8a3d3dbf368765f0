"""Database findings end to end: requests through the middleware (or stored span
records), then analysis cycles at explicit times."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from aiops.detection.models import Anomaly, EndpointBaseline, Incident
from aiops.telemetry.models import Span
from aiops.telemetry.records import SpanRecord
from tests.detection.traffic import T0, run_cycles, store

pytestmark = pytest.mark.django_db

CONTENT_TYPE_LOOKUP = (
    "SELECT ... FROM django_content_type WHERE django_content_type.id = %s LIMIT %s"
)
LOOKUP = "SELECT ... FROM shop_item WHERE shop_item.id = %s LIMIT %s"
WARMUP = 600


def cycle_at(moment: datetime) -> None:
    call_command("run_analysis", at=moment.isoformat(), stdout=io.StringIO())


def after_the_requests(seconds: float = 1.0) -> datetime:
    newest = Span.objects.order_by("-start_time").first().start_time
    return newest + timedelta(seconds=seconds)


@pytest.mark.urls("tests.urls")
def test_an_n_plus_one_view_opens_one_incident_naming_the_view_and_statement(
    client,
):
    for _ in range(5):
        assert client.get("/n-plus-one").status_code == 200
    first = after_the_requests()

    cycle_at(first)
    cycle_at(first + timedelta(seconds=30))  # still there: the same incident

    (incident,) = Incident.objects.all()
    assert incident.kind == "queries"
    assert (incident.root_service, incident.root_endpoint) == ("shop", "n-plus-one")
    assert incident.root_issue == (
        f'N+1 queries in n-plus-one: "{CONTENT_TYPE_LOOKUP}" runs 20 times per request'
    )
    assert "n-plus-one" in incident.title and CONTENT_TYPE_LOOKUP in incident.title
    assert incident.severity == "low"
    assert incident.last_seen == first + timedelta(seconds=30)
    (anomaly,) = incident.anomalies.all()
    assert anomaly.type == Anomaly.Type.N_PLUS_ONE
    assert anomaly.detail["view"] == "n-plus-one"
    assert anomaly.detail["statement"] == CONTENT_TYPE_LOOKUP
    assert anomaly.detail["repeats_per_request"] == 20
    assert anomaly.detail["share"] == 1.0
    assert len(anomaly.history) == 2


@pytest.mark.urls("tests.urls")
def test_a_view_running_a_statement_three_times_opens_nothing(client):
    for _ in range(10):
        client.get("/three-lookups")

    cycle_at(after_the_requests())

    assert not Incident.objects.exists()
    # Its database time is learned as a callee of its own.
    assert EndpointBaseline.objects.filter(service="database", endpoint="shop").exists()


def _id(rng: random.Random, bits: int) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def shop_requests(
    start: float,
    seconds: float,
    *,
    db_factor: float = 1.0,
    queries: int = 5,
    repeats: int = 2,
    seed: int = 1,
) -> list[SpanRecord]:
    """Two endpoints at 2 requests/s each: own time plus database time."""
    rng = random.Random(seed)
    records = []
    t = start + rng.expovariate(2.0)
    while t < start + seconds:
        for name, own, db in (("items", 30.0, 20.0), ("cart", 50.0, 10.0)):
            own_ms = own * rng.lognormvariate(0, 0.15)
            db_ms = db * rng.lognormvariate(0, 0.15) * db_factor
            records.append(
                SpanRecord(
                    service="shop",
                    endpoint=name,
                    method="GET",
                    start_time=datetime.fromtimestamp(t, tz=UTC),
                    duration_ms=own_ms + db_ms,
                    status_code=200,
                    trace_id=_id(rng, 128),
                    span_id=_id(rng, 64),
                    query_count=queries,
                    query_ms=db_ms,
                    top_query=LOOKUP if repeats >= 2 else "",
                    top_query_count=repeats,
                )
            )
        t += rng.expovariate(2.0)
    return records


def test_queries_slower_for_every_endpoint_open_one_incident_rooted_at_the_database():
    store(shop_requests(T0, WARMUP))
    store(shop_requests(T0 + WARMUP, 120, db_factor=8.0, seed=2))

    run_cycles(T0, T0 + WARMUP + 120)

    (incident,) = Incident.objects.all()
    assert incident.kind == "latency"
    assert (incident.root_service, incident.root_endpoint) == ("database", "shop")
    assert incident.root_issue.startswith("Slow database: queries of shop take ")
    assert incident.first_detected.timestamp() - (T0 + WARMUP) <= 30
    assert incident.candidates[0]["service"] == "database"


def test_a_jump_in_queries_per_request_is_a_query_count_incident():
    store(shop_requests(T0, WARMUP))
    store(shop_requests(T0 + WARMUP, 90, queries=50, repeats=45, seed=2))

    run_cycles(T0, T0 + WARMUP + 90)

    incidents = list(Incident.objects.filter(kind="queries"))
    assert {(i.root_endpoint) for i in incidents} == {"items", "cart"}
    items = next(i for i in incidents if i.root_endpoint == "items")
    assert {a.type for a in items.anomalies.all()} == {
        Anomaly.Type.N_PLUS_ONE,
        Anomaly.Type.QUERY_COUNT,
    }
    regression = items.anomalies.get(type=Anomaly.Type.QUERY_COUNT)
    assert regression.summary.startswith(
        "Query count up in items: 50 queries per request (usually 5)"
    )
    assert regression.detail["statement"] == LOOKUP
    assert regression.first_seen.timestamp() - (T0 + WARMUP) <= 30
    # The learned level did not follow the jump.
    level = EndpointBaseline.objects.get(service="shop", endpoint="items")
    assert 4 <= level.query_level <= 6


def test_more_queries_without_a_repeated_statement_is_a_regression_alone():
    store(shop_requests(T0, WARMUP))
    store(shop_requests(T0 + WARMUP, 90, queries=60, repeats=3, seed=2))

    run_cycles(T0, T0 + WARMUP + 90)

    types = set(Anomaly.objects.values_list("type", flat=True))
    assert types == {Anomaly.Type.QUERY_COUNT}


def test_a_steady_query_count_opens_nothing():
    store(shop_requests(T0, WARMUP + 120, queries=8, repeats=4))

    run_cycles(T0, T0 + WARMUP + 120)

    assert not Incident.objects.exists()
    level = EndpointBaseline.objects.get(service="shop", endpoint="cart")
    assert level.query_level == 8 and level.query_samples > 100


def test_an_n_plus_one_shipped_by_a_deploy_is_replayed_and_names_the_deploy(
    tmp_path,
):
    # Span-record lines (the replay format) with the database fields: version
    # 2.0 turned two queries per request into an N+1 with a literal in it.
    from tests.detection.test_indirect_rca import T0 as START
    from tests.detection.test_indirect_rca import replayed

    rng = random.Random(5)
    lines, t = [], START
    while t < START + WARMUP + 240:
        t += rng.expovariate(2.0)
        new = t >= START + WARMUP
        record = SpanRecord(
            service="shop",
            endpoint="items",
            method="GET",
            start_time=datetime.fromtimestamp(t, tz=UTC),
            duration_ms=40.0 * rng.lognormvariate(0, 0.15),
            status_code=200,
            trace_id=_id(rng, 128),
            span_id=_id(rng, 64),
            version="2.0" if new else "1.9",
            query_count=51 if new else 2,
            query_ms=8.0,
            top_query=(
                "SELECT * FROM shop_item WHERE owner = 'sk_secret_owner' AND id = 7"
                if new
                else ""
            ),
            top_query_count=50 if new else 1,
        )
        # Written as another tool would: the literal is still in the line.
        data = record.to_json_dict()
        if new:
            data["top_query"] = record.top_query
        lines.append(json.dumps(data))

    (incident,) = replayed(tmp_path, lines)

    assert incident["kind"] == "queries"
    assert (incident["root_cause"]["service"], incident["root_cause"]["endpoint"]) == (
        "shop",
        "items",
    )
    assert {a["type"] for a in incident["anomalies"]} == {
        "n_plus_one",
        "query_count_up",
    }
    statement = "SELECT * FROM shop_item WHERE owner = %s AND id = %s"
    assert f'"{statement}" runs 50 times per request' in incident["title"]
    first = incident["root_cause"]["candidates"][0]
    assert first["change"]["version"] == "2.0"
    assert first["evidence"].startswith("too many queries on shop started")
    assert "sk_secret_owner" not in json.dumps(incident)
