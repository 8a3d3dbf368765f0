"""The demo shop's outgoing HTTP calls: one pooled client per process."""

from __future__ import annotations

import json
from typing import Any

import urllib3
from django.conf import settings

_pool = urllib3.PoolManager(num_pools=4, maxsize=32, block=False, retries=False)


class DownstreamError(Exception):
    """A call that got no usable answer (timeout, refused, unreadable)."""


def call(
    method: str, url: str, *, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of one call; DownstreamError if there was no answer."""
    try:
        response = _pool.request(
            method,
            url,
            headers=headers,
            timeout=urllib3.Timeout(total=settings.AIOPS_DEMO_TIMEOUT),
        )
    except urllib3.exceptions.HTTPError as exc:
        reason = (
            "timed out"
            if isinstance(exc, urllib3.exceptions.TimeoutError)
            else str(exc)
        )
        raise DownstreamError(f"{method} {url}: {reason}") from exc
    try:
        body = json.loads(response.data or b"{}")
    except ValueError:
        body = {}
    return response.status, body if isinstance(body, dict) else {}
