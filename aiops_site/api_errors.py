from __future__ import annotations

import logging

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    """DRF's handler, plus a JSON 500 that never carries a stack trace or message."""
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    view = context.get("view")
    logger.exception(
        "Unhandled error in %s", type(view).__name__ if view else "API view"
    )
    return Response({"detail": "Internal server error."}, status=500)
