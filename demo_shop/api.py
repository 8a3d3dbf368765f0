"""Simulation controls: parse, call one fault service, format."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from aiops.api.base import AiopsAPIMixin
from aiops.api.loopback import LOCAL_ACTOR
from aiops.api.throttling import SimulationThrottle
from demo_shop import faults
from demo_shop.models import DEMO_ENDPOINTS
from demo_shop.serializers import (
    ClearResultSerializer,
    ClearSerializer,
    DelaySerializer,
    ErrorRateSerializer,
    FaultSerializer,
    SimulationStatusSerializer,
)


def _params(request) -> dict:
    """Parameters from the query string (the prototype's style) or the body."""
    params = {key: request.query_params.get(key) for key in request.query_params}
    if hasattr(request.data, "items"):
        params.update({key: value for key, value in request.data.items()})
    return params


def _status_payload() -> dict:
    current = faults.fault_status()
    return {
        "faults": [state.as_dict() for state in current.values()],
        "endpoints": list(DEMO_ENDPOINTS),
    }


def _by(request) -> str:
    return request.user.get_username() if request.user.is_authenticated else LOCAL_ACTOR


_ENDPOINT = OpenApiParameter("endpoint", str, description="payment, /payment, ...")


class SimulateDelayView(AiopsAPIMixin, APIView):
    dev_loopback = True  # the prototype's curl walk-through (aiops.api.loopback)
    throttle_classes = [SimulationThrottle]

    @extend_schema(
        request=None,
        parameters=[_ENDPOINT, OpenApiParameter("duration", int, description="ms")],
        responses=FaultSerializer,
    )
    def post(self, request):
        serializer = DelaySerializer(data=_params(request))
        serializer.is_valid(raise_exception=True)
        state = faults.fault_set_delay(
            endpoint=serializer.validated_data["endpoint"],
            delay_ms=serializer.validated_data["duration"],
            by=_by(request),
        )
        return Response(state.as_dict())


class SimulateErrorView(AiopsAPIMixin, APIView):
    dev_loopback = True  # the prototype's curl walk-through (aiops.api.loopback)
    throttle_classes = [SimulationThrottle]

    @extend_schema(
        request=None,
        parameters=[_ENDPOINT, OpenApiParameter("rate", float, description="0 to 1")],
        responses=FaultSerializer,
    )
    def post(self, request):
        serializer = ErrorRateSerializer(data=_params(request))
        serializer.is_valid(raise_exception=True)
        state = faults.fault_set_error(
            endpoint=serializer.validated_data["endpoint"],
            rate=serializer.validated_data["rate"],
            by=_by(request),
        )
        return Response(state.as_dict())


class SimulateClearView(AiopsAPIMixin, APIView):
    dev_loopback = True  # the prototype's curl walk-through (aiops.api.loopback)
    throttle_classes = [SimulationThrottle]

    @extend_schema(
        request=None, parameters=[_ENDPOINT], responses=ClearResultSerializer
    )
    def post(self, request):
        serializer = ClearSerializer(data=_params(request))
        serializer.is_valid(raise_exception=True)
        cleared = faults.fault_clear(endpoint=serializer.validated_data.get("endpoint"))
        return Response({"cleared": cleared, **_status_payload()})


class SimulateStatusView(AiopsAPIMixin, APIView):
    dev_loopback = True  # the prototype's curl walk-through (aiops.api.loopback)

    @extend_schema(responses=SimulationStatusSerializer)
    def get(self, request):
        return Response(_status_payload())
