from django.apps import AppConfig


class AiopsSiteConfig(AppConfig):
    name = "aiops_site"
    verbose_name = "AIOps site"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from aiops_site.file_modes import restrict_sqlite_files

        connection_created.connect(restrict_sqlite_files)
