from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from aiops_site.api import router
from detection.api.prometheus import PrometheusMetricsView
from telemetry.views import traces

urlpatterns = [
    path("", include("demo_shop.urls")),
    path("v1/traces", traces, name="otlp-traces"),
    path("metrics", PrometheusMetricsView.as_view(), name="prometheus-metrics"),
    path("aiops/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "aiops/docs/",
        SpectacularSwaggerView.as_view(url_name="schema"),
        name="api-docs",
    ),
    path("aiops/", include(router.urls)),
    path("admin/", admin.site.urls),
]
