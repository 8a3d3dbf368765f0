"""GET /metrics: the Prometheus exposition, behind the same auth as the API."""

from __future__ import annotations

import json

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from aiops.api.base import AiopsAPIMixin
from aiops.detection import exposition


class PrometheusRenderer(BaseRenderer):
    media_type = "text/plain"
    format = "prometheus"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return json.dumps(data).encode()  # errors (401, 403): a short JSON body


class PrometheusMetricsView(AiopsAPIMixin, APIView):
    """Counters, histograms and gauges in the Prometheus text format.

    Prometheus authenticates with ``authorization: credentials: <API token>``
    (sent as ``Bearer``), or reads anonymously when AIOPS_PUBLIC_READ is on.
    """

    renderer_classes = [PrometheusRenderer]

    @extend_schema(
        responses={
            (200, "text/plain"): OpenApiResponse(
                description="Prometheus text format 0.0.4"
            )
        }
    )
    def get(self, request):
        return Response(
            exposition.render(timezone.now()), content_type=exposition.CONTENT_TYPE
        )
