"""The demo shop's outgoing HTTP calls: one connection per call.

Not a pool of kept-alive connections, on purpose. A pooled connection that sat
idle longer than the server keeps it (gunicorn: 2 s) can be closed by the server
just as the client reuses it; the call then fails with ECONNRESET, and the
checkout with a 502 that no fault caused (3 in 3,269 checkouts of a demo run,
learned into checkout's error rate; 1 in 100 of a probe sending a checkout every
2 s). Asking the server to close instead ("Connection: close") only moves the
race: the client may reuse the connection before the server's close reaches it.
A fresh connection on loopback costs about a tenth of a millisecond.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings


class DownstreamError(Exception):
    """A call that got no usable answer (timeout, refused, unreadable)."""


def call(
    method: str, url: str, *, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of one call; DownstreamError if there was no answer."""
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection
        if parts.scheme == "https"
        else http.client.HTTPConnection
    )
    connection = connection_class(
        parts.hostname or "127.0.0.1",
        parts.port,
        timeout=settings.AIOPS_DEMO_TIMEOUT,
    )
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    try:
        connection.request(
            method, path, body=b"" if method == "POST" else None, headers=headers
        )
        response = connection.getresponse()
        data = response.read()
        status = response.status
    except TimeoutError:
        raise DownstreamError(f"{method} {url}: timed out") from None
    except (OSError, http.client.HTTPException) as exc:
        raise DownstreamError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    finally:
        connection.close()
    try:
        body = json.loads(data or b"{}")
    except ValueError:
        body = {}
    return status, body if isinstance(body, dict) else {}
