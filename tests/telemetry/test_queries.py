"""Database queries of a request, captured by the middleware onto its span."""

from __future__ import annotations

import io
import json

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from aiops.telemetry import counters
from aiops.telemetry.export import export_spans
from aiops.telemetry.models import Span
from aiops.telemetry.queries import QueryCapture, normalise
from aiops.telemetry.records import record_from_json_dict
from tests.urls import SECRET_LITERAL

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls")]

CONTENT_TYPE_LOOKUP = (
    "SELECT ... FROM django_content_type WHERE django_content_type.id = %s LIMIT %s"
)


def only_span() -> Span:
    spans = list(Span.objects.all())
    assert len(spans) == 1, spans
    return spans[0]


def test_an_n_plus_one_view_records_its_queries_and_the_repeated_statement(client):
    assert client.get("/n-plus-one").status_code == 200

    span = only_span()
    assert span.endpoint == "n-plus-one"
    assert span.query_count == 21  # the list, then one lookup per item
    assert 0 < span.query_ms < span.duration_ms
    assert span.top_query == CONTENT_TYPE_LOOKUP
    assert span.top_query_count == 20


def test_a_view_without_queries_counts_none_not_even_its_own_span_write(client):
    # The span is written inside the request here (AIOPS_TELEMETRY_SYNC).
    client.get("/orders/1")

    span = only_span()
    assert span.query_count == 0
    assert span.query_ms == 0.0
    assert (span.top_query, span.top_query_count) == ("", 0)


def test_a_statement_run_a_few_times_is_kept_with_its_count(client):
    client.get("/three-lookups")

    span = only_span()
    assert span.query_count == 4  # the ids, then three lookups
    assert span.top_query_count == 3
    assert span.top_query == (
        "SELECT ... FROM auth_permission WHERE auth_permission.id = %s LIMIT %s"
    )


def test_literal_values_never_reach_storage(client):
    client.get("/secret-lookup")

    span = only_span()
    assert span.top_query == (
        "SELECT COUNT(*) FROM auth_user WHERE username = %s OR id = %s"
    )
    assert span.top_query_count == 12
    stored = json.dumps(list(Span.objects.values()), default=str)
    exported = io.StringIO()
    export_spans(exported)
    for text in (stored, exported.getvalue()):
        assert SECRET_LITERAL not in text
        assert "987654" not in text
    assert json.loads(exported.getvalue())["top_query"] == span.top_query


def test_the_cap_bounds_the_statements_kept_but_every_query_is_counted(
    client, settings
):
    settings.AIOPS_MAX_CAPTURED_QUERIES = 50

    client.get("/many-queries?distinct=1")  # 1,000 texts: "SELECT 0", "SELECT 1"...
    client.get("/many-queries")  # 1,000 times "SELECT 1"

    distinct, same = Span.objects.order_by("id")
    assert distinct.query_count == same.query_count == 1000
    # Only the first 50 texts were kept (and normalised, all to one statement).
    assert (distinct.top_query, distinct.top_query_count) == ("SELECT %s", 50)
    # A text already kept is counted every time it runs.
    assert (same.top_query, same.top_query_count) == ("SELECT %s", 1000)


def test_capture_is_bounded_per_request_in_memory_too():
    capture = QueryCapture(limit=10)

    def execute(sql, params, many, context):
        return None

    for i in range(1000):
        capture(execute, f"SELECT {i}", None, False, {})

    assert capture.count == 1000
    assert capture.analysed == 10
    assert capture.most_repeated() == ("SELECT %s", 10)


def test_capture_can_be_switched_off(client, settings):
    settings.AIOPS_CAPTURE_QUERIES = False

    client.get("/n-plus-one")

    span = only_span()
    assert span.query_count is None and span.query_ms is None
    assert (span.top_query, span.top_query_count) == ("", 0)


def test_a_failing_capture_never_breaks_the_request(client, monkeypatch):
    def broken(self):
        raise RuntimeError("capture is broken")

    monkeypatch.setattr(QueryCapture, "install", broken)
    failures = counters.snapshot().get("telemetry_failures", 0)

    response = client.get("/n-plus-one")

    assert response.status_code == 200
    assert len(response.json()["names"]) == 20
    assert counters.snapshot()["telemetry_failures"] == failures + 1


def test_async_views_under_asgi_are_served_and_their_queries_counted():
    response = async_to_sync(AsyncClient().get)("/async-queries")

    assert response.status_code == 200
    span = only_span()
    assert span.endpoint == "async-queries"
    assert span.query_count == 3
    assert span.top_query_count == 3


def test_wrappers_are_removed_after_the_request(client):
    from django.db import connections

    client.get("/n-plus-one")

    assert all(
        not any(isinstance(w, QueryCapture) for w in c.execute_wrappers)
        for c in connections.all()
    )


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            'SELECT "shop_item"."id", "shop_item"."name", "shop_item"."price", '
            '"shop_item"."stock" FROM "shop_item" WHERE "shop_item"."id" = %s '
            "LIMIT 21",
            "SELECT ... FROM shop_item WHERE shop_item.id = %s LIMIT %s",
        ),
        (
            "SELECT id FROM t WHERE name = 'it''s' AND n IN (1, 2, 3) -- why",
            "SELECT id FROM t WHERE name = %s AND n IN (...)",
        ),
        ('SELECT "t"."a" FROM "t" WHERE "t"."b" IN (%s, %s, %s)', None),
        (
            "INSERT INTO t (a, b) VALUES (%s, %s), (%s, %s), (7, 'x')",
            "INSERT INTO t (a, b) VALUES (...)",
        ),
        ("SELECT $$secret$$, $t$ secret $t$ FROM t WHERE c = $1", None),
        ('SAVEPOINT "s140_x12"', "SAVEPOINT %s"),
        ("SELECT   x\n\tFROM t /* note */ WHERE y = -1.5e3", None),
        ("SELECT 'never closed secret", "SELECT %s"),
        ('SELECT COUNT(*) AS "__count" FROM t WHERE T3.id = U0.id', None),
    ],
)
def test_normalise_removes_values_comments_and_layout(sql, expected):
    text = normalise(sql)

    if expected is not None:
        assert text == expected
    assert "secret" not in text and "'" not in text and "--" not in text
    for value in ("21", "1.5e3", "7", "12"):
        assert value not in text.replace("s140", "")
    assert "  " not in text and "\n" not in text


def test_normalised_statements_are_capped():
    text = normalise("SELECT a FROM t WHERE " + " AND ".join(["b = %s"] * 200))

    assert len(text) == 300 and text.endswith("...")


def test_the_span_record_format_carries_queries_without_values():
    record = record_from_json_dict(
        {
            "ts": 1_800_000_000,
            "endpoint": "items",
            "duration_ms": 30,
            "query_count": 51,
            "query_ms": 12.5,
            "top_query": "SELECT * FROM item WHERE id = 42 AND owner = 'alice'",
            "top_query_count": 50,
        }
    )

    assert record.query_count == 51 and record.query_ms == 12.5
    assert record.top_query == "SELECT * FROM item WHERE id = %s AND owner = %s"
    data = record.to_json_dict()
    assert record_from_json_dict(data) == record
    assert (
        "query_count"
        not in record_from_json_dict(
            {"ts": 1_800_000_000, "endpoint": "x", "duration_ms": 1}
        ).to_json_dict()
    )


@pytest.mark.django_db(transaction=True)
def test_the_span_writer_thread_s_inserts_are_never_a_request_s_queries(
    client, settings
):
    from aiops.telemetry.writer import get_writer

    settings.AIOPS_TELEMETRY_SYNC = False  # spans go through the writer thread
    for _ in range(20):
        client.get("/orders/1")
        client.get("/n-plus-one")
    assert get_writer().flush(timeout=10)

    counts = set(Span.objects.values_list("endpoint", "query_count"))
    assert counts == {("order-detail", 0), ("n-plus-one", 21)}


@pytest.mark.parametrize("value", ["200", -1, 2.5])
def test_a_bad_statement_cap_is_a_configuration_error(settings, value):
    from aiops.telemetry.checks import check_ingest_settings

    settings.AIOPS_MAX_CAPTURED_QUERIES = value

    assert "telemetry.E003" in {e.id for e in check_ingest_settings(None)}
