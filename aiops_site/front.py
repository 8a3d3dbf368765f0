"""``GET /``: where to go from here."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

from aiops.api.loopback import is_loopback
from aiops.telemetry.middleware import not_recorded


@not_recorded
@require_GET
def front_door(request):
    return render(
        request,
        "aiops_site/front.html",
        {
            "dev_open": settings.AIOPS_DEV_OPEN_LOOPBACK
            and not settings.PRODUCTION
            and is_loopback(request),
            "base": request.build_absolute_uri("/").rstrip("/"),
        },
    )
