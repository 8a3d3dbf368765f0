"""django-q2 entry points: parse nothing, call one service."""

from __future__ import annotations

from django.utils import timezone

from detection.analysis import run_analysis_cycle
from detection.config import DetectionConfig


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
