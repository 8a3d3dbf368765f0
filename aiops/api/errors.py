from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    """DRF's handler, plus 413 for oversized bodies and a JSON 500 that never
    carries a stack trace or an exception's message."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {"detail": f"Request body larger than {limit} bytes."}, status=413
        )
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    view = context.get("view")
    logger.exception(
        "Unhandled error in %s", type(view).__name__ if view else "API view"
    )
    return Response({"detail": "Internal server error."}, status=500)
