from rest_framework.routers import DefaultRouter

from detection.api import views


class OptionalSlashRouter(DefaultRouter):
    """The prototype's URLs have no trailing slash, DRF's have one: accept both."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("anomalies", views.AnomalyViewSet, basename="anomaly")
router.register("baselines", views.BaselineViewSet, basename="baseline")
router.register("metrics", views.MetricsViewSet, basename="metrics")
router.register("analyze", views.AnalyzeViewSet, basename="analyze")
router.register("services", views.ServiceViewSet, basename="services")
router.register("dependencies", views.DependencyViewSet, basename="dependencies")

urlpatterns = router.urls
