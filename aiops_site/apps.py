from django.apps import AppConfig


class AiopsSiteConfig(AppConfig):
    name = "aiops_site"
    verbose_name = "AIOps site"
