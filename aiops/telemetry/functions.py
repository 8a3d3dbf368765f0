"""Database functions the telemetry queries use."""

from __future__ import annotations

from django.db.models import FloatField, Func


class Epoch(Func):
    """A timestamp as epoch seconds (float), computed by the database.

    Reading tens of thousands of spans per cycle, turning each timestamp into a
    Python datetime only to turn it into a number again was a third of the cost.
    """

    output_field = FloatField()

    def get_db_converters(self, connection):
        # Both databases hand back a float already; Django's default converter would
        # call float() on every row once more.
        return []

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores SQLite datetimes as UTC text, "YYYY-MM-DD HH:MM:SS" and
        # ".ffffff" unless the fraction is zero. Whole seconds (julianday() of
        # the text without its fraction, rounded) and the microseconds from the
        # text, in integers, then one division: the float Python's timestamp()
        # gives. julianday() of the whole text keeps milliseconds only, and its
        # day count times 86400 is off by up to 5e-5 s: a request that started
        # on a quarter hour was read as the end of the one before, and learned
        # and judged in that slot's season. (The expression is a column: its
        # text appears twice, with no parameters.)
        return self.as_sql(
            compiler,
            connection,
            template=(
                "((CAST(round((julianday(substr(%(expressions)s, 1, 19))"
                " - 2440587.5) * 86400.0) AS INTEGER) * 1000000"
                " + CAST(substr(%(expressions)s || '.000000', 21, 6) AS INTEGER))"
                " / 1000000.0)"
            ),
            **extra,
        )

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM %(expressions)s)::float8",
            **extra,
        )
