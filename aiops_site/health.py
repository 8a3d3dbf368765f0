"""Health endpoints for process supervisors and orchestrators (no login).

``GET /healthz``: the web process answers and reaches its database (503 if not).
``GET /healthz/analysis``: also that an analysis cycle ran within
``AIOPS_STALL_AFTER`` seconds (503 if none did: the task cluster is stalled or
down). ``scripts/run.py`` restarts the cluster on that 503; in production, point
the cluster's liveness probe at it. Both answer a few words and numbers only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from aiops.detection.models import AnalysisRun


def _last_cycle():
    return (
        AnalysisRun.objects.filter(skipped="", error="")
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )


@require_GET
def web(request):
    try:
        last = _last_cycle()
    except DatabaseError:
        return JsonResponse({"status": "database unavailable"}, status=503)
    age = (timezone.now() - last).total_seconds() if last else None
    return JsonResponse(
        {"status": "ok", "last_analysis_age_s": None if age is None else round(age, 1)}
    )


@require_GET
def analysis(request):
    try:
        last = _last_cycle()
    except DatabaseError:
        return JsonResponse({"status": "database unavailable"}, status=503)
    limit = settings.AIOPS_STALL_AFTER
    if last is None:
        return JsonResponse(
            {"status": "no analysis cycle yet", "stall_after_s": limit}, status=503
        )
    age = (timezone.now() - last).total_seconds()
    stalled = age > limit
    return JsonResponse(
        {
            "status": "stalled" if stalled else "ok",
            "last_analysis_age_s": round(age, 1),
            "stall_after_s": limit,
        },
        status=503 if stalled else 200,
    )
