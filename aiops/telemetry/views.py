"""OTLP/HTTP trace receiver: ``POST /v1/traces``."""

from __future__ import annotations

from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from aiops.api.throttling import IngestThrottle
from aiops.conf import settings
from aiops.telemetry.ingest_auth import authenticate_ingest
from aiops.telemetry.otlp import responses
from aiops.telemetry.otlp.decoding import CONTENT_TYPES, JSON, OtlpError, media_type
from aiops.telemetry.otlp.ingest import ingest, ingest_slot

RETRY_AFTER = {429: 1, 503: 5}


@csrf_exempt
@require_POST
def traces(request):
    kind = media_type(request.META.get("CONTENT_TYPE", ""))
    reply_kind = kind if kind in CONTENT_TYPES else JSON
    identity = authenticate_ingest(request)
    if identity is None:
        return responses.failure(
            reply_kind, 401, "a valid ingest token is required (Authorization: Bearer)"
        )
    throttle = IngestThrottle(identity.name)
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
    try:
        with ingest_slot():
            body = request.read(limit + 1)
            if len(body) > limit:
                return responses.failure(kind, 413, f"payload exceeds {limit} bytes")
            result = ingest(
                body,
                kind=kind,
                encoding=request.META.get("HTTP_CONTENT_ENCODING", ""),
                now=timezone.now(),
                may_write=lambda service: (
                    None if identity.may_write(service) else identity.refusal(service)
                ),
            )
    except OtlpError as exc:
        return responses.failure(
            kind, exc.status, exc.message, retry_after=RETRY_AFTER.get(exc.status)
        )
    return responses.success(
        kind, rejected=result.rejected, message="; ".join(result.reasons)
    )
