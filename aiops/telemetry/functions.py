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
        # Django stores SQLite datetimes as UTC text; julianday() parses it.
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra,
        )

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM %(expressions)s)::float8",
            **extra,
        )
