from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    name = "aiops.telemetry"
    label = "telemetry"
    verbose_name = "Telemetry"

    def ready(self) -> None:
        from aiops.telemetry import checks  # noqa: F401 - registers the system checks
