from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "aiops.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"
