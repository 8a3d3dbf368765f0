"""django-q2 entry points: parse nothing, call one service."""

from __future__ import annotations

from django.utils import timezone

from aiops.conf import settings
from aiops.detection.analysis import run_analysis_cycle
from aiops.detection.config import DetectionConfig
from aiops.detection.housekeeping import prune_telemetry


def prune_old_telemetry() -> dict:
    result = prune_telemetry(now=timezone.now(), days=settings.AIOPS_RETENTION_DAYS)
    return {"deleted": result.deleted, "kept_as_evidence": result.kept_as_evidence}


def run_scheduled_analysis() -> dict:
    config = DetectionConfig.from_settings()
    report = run_analysis_cycle(
        now=timezone.now(),
        trigger="schedule",
        config=config,
        # Two clusters picking up the same tick produce one cycle, not two.
        min_spacing=config.interval / 2,
    )
    return report.as_dict()
