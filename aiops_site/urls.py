from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from aiops.api.routes import urlpatterns as api_urls
from aiops.detection.api.prometheus import PrometheusMetricsView
from aiops.telemetry.views import traces
from aiops_site import front, health
from aiops_site.login_throttle import ThrottledAuthenticationForm

# The admin's "View site" link leads to the dashboard.
admin.site.site_url = "/aiops/dashboard/"
admin.site.site_header = "AIOps for Django"
admin.site.login_form = ThrottledAuthenticationForm
# The admin index starts with links to incidents and the dashboard.
admin.site.index_template = "aiops_site/admin_index.html"
# The lists get the whole width (the index lists every model anyway).
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", front.front_door, name="front-door"),
    path("", include("demo_shop.urls")),
    # Browsers ask for it on every page, admin pages included.
    path(
        "favicon.ico",
        RedirectView.as_view(url=static("dashboard/favicon.svg"), permanent=True),
        name="favicon",
    ),
    path("v1/traces", traces, name="otlp-traces"),
    path("healthz", health.web, name="healthz"),
    path("healthz/analysis", health.analysis, name="healthz-analysis"),
    path("metrics", PrometheusMetricsView.as_view(), name="prometheus-metrics"),
    path("aiops/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "aiops/docs/",
        SpectacularSwaggerView.as_view(url_name="schema"),
        name="api-docs",
    ),
    path("aiops/dashboard/", include("aiops.dashboard.urls")),
    path("aiops/", include(api_urls)),
    path("admin/", admin.site.urls),
]

handler400 = "aiops_site.errors.bad_request"
handler403 = "aiops_site.errors.permission_denied"
handler404 = "aiops_site.errors.not_found"
handler500 = "aiops_site.errors.server_error"
