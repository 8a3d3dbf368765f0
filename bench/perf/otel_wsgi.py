"""The app as OpenTelemetry's Django instrumentation would run it (bench variant c).

With BENCH_OTEL_SQLITE=1, its SQLite instrumentation too. Real SDK, real
BatchSpanProcessor, an exporter that drops the spans: what is
measured is the cost of creating and batching spans in the request path, not of
shipping them anywhere. Our own middleware is off (AIOPS_TELEMETRY_ENABLED=0).
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aiops_site.settings")
os.environ["AIOPS_TELEMETRY_ENABLED"] = "0"


class DiscardingExporter(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS

    def shutdown(self):
        return None


provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(DiscardingExporter()))
trace.set_tracer_provider(provider)
DjangoInstrumentor().instrument()
if os.environ.get("BENCH_OTEL_SQLITE"):
    # A span per query as well, with its statement (overhead.py --scenario queries).
    from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor

    SQLite3Instrumentor().instrument()

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
