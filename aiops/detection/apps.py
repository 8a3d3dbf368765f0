from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "aiops.detection"
    label = "detection"
    verbose_name = "Detection and incidents"

    def ready(self) -> None:
        from aiops.detection import checks  # noqa: F401 - registers the system checks
