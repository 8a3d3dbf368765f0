"""Rate limits for the endpoints anyone can make expensive: simulation, ingestion.

Rates come from settings (``AIOPS_THROTTLE_*``, e.g. "120/min") each time, so that
they can be changed without a restart of the class. Counts live in Django's cache:
per process with the default local-memory cache, shared with a shared cache.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRateThrottle(SimpleRateThrottle):
    setting = ""

    def get_rate(self):
        return getattr(settings, self.setting)

    def get_cache_key(self, request, view):
        user = getattr(request, "user", None)
        ident = (
            f"user-{user.pk}"
            if user is not None and user.is_authenticated
            else self.get_ident(request)
        )
        return self.cache_format % {"scope": self.scope, "ident": ident}


class SimulationThrottle(_SettingsRateThrottle):
    scope = "simulation"
    setting = "AIOPS_THROTTLE_SIMULATION"


class IngestThrottle(_SettingsRateThrottle):
    """Per ingest token (each exporter its own budget); per client address for
    the loopback development opening."""

    scope = "otlp"
    setting = "AIOPS_THROTTLE_OTLP"

    def __init__(self, identity_name: str | None = None) -> None:
        super().__init__()
        self.identity_name = identity_name

    def get_cache_key(self, request, view):
        if self.identity_name and self.identity_name != "loopback":
            ident = f"token-{self.identity_name}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
