"""django-q2 entry point: parse nothing, call one service."""

from __future__ import annotations

from django.utils import timezone

from aiops.notifications.services import dispatch_due


def dispatch() -> dict:
    return dispatch_due(now=timezone.now(), clock=timezone.now)
