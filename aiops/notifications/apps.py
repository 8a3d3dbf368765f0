from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "aiops.notifications"
    label = "notifications"
    verbose_name = "Notifications"
