"""The API router: every viewset under /aiops/, listed at the browsable API root."""

from __future__ import annotations

from django.urls import NoReverseMatch, re_path, reverse
from rest_framework.routers import APIRootView, DefaultRouter

from aiops.api.base import AiopsAPIMixin
from aiops.changes.api import ChangeViewSet
from aiops.detection.api import views as detection
from aiops.notifications import api as notifications


class AiopsRootView(AiopsAPIMixin, APIRootView):
    """The API's collections, plus the human-facing pages around them."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        for name, url_name in (
            ("metrics", "metrics"),
            ("services", "services"),
            ("dependencies", "dependencies"),
            ("dashboard", "dashboard:overview"),
            ("docs", "api-docs"),
            ("schema", "schema"),
            ("prometheus", "prometheus-metrics"),
        ):
            try:
                url = reverse(url_name)
            except NoReverseMatch:  # a host project that did not mount this page
                continue
            response.data[name] = request.build_absolute_uri(url)
        return response


class OptionalSlashRouter(DefaultRouter):
    """The prototype's URLs have no trailing slash, DRF's have one: accept both."""

    APIRootView = AiopsRootView

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("incidents", detection.IncidentViewSet, basename="incident")
router.register("anomalies", detection.AnomalyViewSet, basename="anomaly")
router.register("baselines", detection.BaselineViewSet, basename="baseline")
router.register("analyze", detection.AnalyzeViewSet, basename="analyze")
router.register("changes", ChangeViewSet, basename="change")
router.register("channels", notifications.ChannelViewSet, basename="channel")
router.register("silences", notifications.SilenceViewSet, basename="silence")
router.register(
    "notifications", notifications.NotificationViewSet, basename="notification"
)


# Single resources rather than collections: plain views, listed at the root too.
urlpatterns = [
    re_path(r"^metrics/?$", detection.MetricsView.as_view(), name="metrics"),
    re_path(r"^services/?$", detection.ServicesView.as_view(), name="services"),
    re_path(
        r"^dependencies/?$", detection.DependenciesView.as_view(), name="dependencies"
    ),
    *router.urls,
]
