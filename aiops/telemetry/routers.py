"""Spans in a database of their own, for projects that want them apart.

Spans are the one table that grows with traffic. To keep them out of a project's
main database, add an alias and this router:

    DATABASES["telemetry"] = {...}
    DATABASE_ROUTERS = ["aiops.telemetry.routers.SpanRouter"]
    AIOPS_SPAN_DATABASE = "telemetry"

then ``manage.py migrate --database telemetry`` once besides the usual
``migrate``. Everything else of the product (baselines, incidents, tokens) stays
in ``default``; nothing joins spans to other tables, so the split is safe.
"""

from __future__ import annotations

from aiops.conf import settings


def _is_span(app_label: str, model_name: str | None) -> bool:
    return app_label == "telemetry" and model_name == "span"


class SpanRouter:
    @property
    def alias(self) -> str:
        return settings.AIOPS_SPAN_DATABASE

    def db_for_read(self, model, **hints):
        if _is_span(model._meta.app_label, model._meta.model_name):
            return self.alias
        return None

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if self.alias == "default":
            return None
        if _is_span(app_label, model_name):
            return db == self.alias
        if db == self.alias:
            return False  # the span database holds spans only
        return None
