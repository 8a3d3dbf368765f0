"""OTLP/HTTP trace receiver: ``POST /v1/traces``."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from aiops_site.throttling import IngestThrottle
from telemetry.otlp import responses
from telemetry.otlp.decoding import CONTENT_TYPES, JSON, OtlpError, media_type
from telemetry.otlp.ingest import ingest

RETRY_AFTER = {429: 1, 503: 5}


def _authorized(request) -> bool:
    token = settings.AIOPS_OTLP_TOKEN
    if not token:
        return True
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


@csrf_exempt
@require_POST
def traces(request):
    kind = media_type(request.META.get("CONTENT_TYPE", ""))
    reply_kind = kind if kind in CONTENT_TYPES else JSON
    if not _authorized(request):
        return responses.failure(reply_kind, 401, "a valid bearer token is required")
    throttle = IngestThrottle()
    if not throttle.allow_request(request, None):
        return responses.failure(
            reply_kind,
            429,
            "too many exports from this client; retry later",
            retry_after=max(int(throttle.wait() or 1), 1),
        )
    if kind not in CONTENT_TYPES:
        return responses.failure(
            JSON, 415, "Content-Type must be application/x-protobuf or application/json"
        )
    limit = settings.AIOPS_OTLP_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return responses.failure(kind, 413, f"payload exceeds {limit} bytes")
    body = request.read(limit + 1)
    if len(body) > limit:
        return responses.failure(kind, 413, f"payload exceeds {limit} bytes")
    try:
        result = ingest(
            body, kind=kind, encoding=request.META.get("HTTP_CONTENT_ENCODING", "")
        )
    except OtlpError as exc:
        return responses.failure(
            kind, exc.status, exc.message, retry_after=RETRY_AFTER.get(exc.status)
        )
    return responses.success(
        kind, rejected=result.rejected, message="; ".join(result.reasons)
    )
