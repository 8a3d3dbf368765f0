"""The span table's time index: BRIN on PostgreSQL, a B-tree elsewhere.

Which plans use it on real volumes is measured by bench/perf/pg_indexes.py; an
empty test table says nothing about that.
"""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def index_method() -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
                "WHERE c.relname = 'span_start_idx'"
            )
            return cursor.fetchone()[0]
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' "
            "AND name = 'span_start_idx'"
        )
        (sql,) = cursor.fetchone()
        assert '"start_time"' in sql
        return "btree"


def test_start_time_index_suits_the_engine():
    expected = "brin" if connection.vendor == "postgresql" else "btree"
    assert index_method() == expected
