"""Sending one payload over HTTP, and what to do about the answer."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

import urllib3

from aiops.conf import settings
from aiops.notifications.targets import refusal

_pool = urllib3.PoolManager(num_pools=8, maxsize=4, retries=False)


@dataclass
class Answer:
    status: int | None  # None: no answer (timeout, refused)
    latency_ms: float
    error: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def worth_retrying(self) -> bool:
        """Timeouts, refusals, 429 and 5xx; any other 4xx will not get better."""
        return self.status is None or self.status == 429 or self.status >= 500


def _retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - now).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def post_json(url: str, body: dict, *, now: datetime) -> Answer:
    started = time.perf_counter()
    reason = refusal(url, resolve=True)
    if reason:
        # A 4xx-like answer: not worth retrying. The reason names the host only.
        return Answer(400, (time.perf_counter() - started) * 1000, f"refused: {reason}")
    try:
        response = _pool.request(
            "POST",
            url,
            body=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "User-Agent": "aiops-for-django",
            },
            timeout=urllib3.Timeout(total=settings.AIOPS_NOTIFY_TIMEOUT),
            preload_content=True,
        )
    except urllib3.exceptions.HTTPError as exc:
        # Only the exception's class: its text can carry the (secret) URL.
        return Answer(None, (time.perf_counter() - started) * 1000, type(exc).__name__)
    return Answer(
        response.status,
        (time.perf_counter() - started) * 1000,
        "" if 200 <= response.status < 300 else f"HTTP {response.status}",
        _retry_after(response.headers.get("Retry-After"), now),
    )
