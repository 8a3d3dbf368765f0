from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "detection"
    verbose_name = "Detection and incidents"

    def ready(self) -> None:
        from detection import checks  # noqa: F401 - registers the system checks
