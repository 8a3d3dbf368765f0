"""Everything the product serves, for a host project to mount with one line:

    path("aiops/", include("aiops.urls")),

gives the REST API (``/aiops/incidents`` ...), the dashboard
(``/aiops/dashboard/``), the Prometheus exposition (``/aiops/prometheus``) and the
OTLP/HTTP receiver (``/aiops/v1/traces``). The standalone site mounts the same
views at its own places.
"""

from django.urls import include, path

from aiops.api.routes import urlpatterns as api_urls
from aiops.detection.api.prometheus import PrometheusMetricsView
from aiops.telemetry.views import traces

urlpatterns = [
    path("v1/traces", traces, name="otlp-traces"),
    path("prometheus", PrometheusMetricsView.as_view(), name="prometheus-metrics"),
    path("dashboard/", include("aiops.dashboard.urls")),
    path("", include(api_urls)),
]
