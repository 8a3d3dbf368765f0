"""DRF views: parse, call one selector or service, format."""

from __future__ import annotations

from django.db.models import Prefetch, Q
from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from aiops.api.base import AiopsAPIMixin
from aiops.api.loopback import LOCAL_ACTOR
from aiops.detection.actions import Outcome, incident_acknowledge, incident_resolve
from aiops.detection.analysis import run_analysis_cycle
from aiops.detection.api.serializers import (
    AnalyzeResultSerializer,
    AnomalySerializer,
    BaselineSerializer,
    DependenciesSerializer,
    IncidentActionSerializer,
    IncidentFilterSerializer,
    IncidentListSerializer,
    IncidentSerializer,
    MetricsQuerySerializer,
    MetricsSerializer,
    ServicesSerializer,
)
from aiops.detection.config import DetectionConfig
from aiops.detection.metrics import endpoint_metrics
from aiops.detection.models import ACTIVE_STATUSES, Anomaly, EndpointBaseline, Incident
from aiops.detection.selectors import seasons
from aiops.detection.service_map import dependencies, services


def _incidents():
    return Incident.objects.prefetch_related(
        Prefetch("anomalies", queryset=Anomaly.objects.order_by("first_seen", "id")),
        "events",
    )


class _ObjectListSchema(AutoSchema):
    """The incident list answers one object (the seed README's shape), not an
    array: drf-spectacular must not wrap it."""

    def _is_list_view(self, serializer=None):
        if getattr(self.view, "action", None) == "list":
            return False
        return super()._is_list_view(serializer)


class IncidentViewSet(AiopsAPIMixin, viewsets.ReadOnlyModelViewSet):
    """Incidents: the active ones first, acknowledge and resolve as actions."""

    schema = _ObjectListSchema()
    dev_loopback = True  # the prototype's curl walk-through (aiops.api.loopback)

    serializer_class = IncidentSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "incident_id"
    lookup_value_regex = "INC-[0-9]+-[0-9]+"

    def get_queryset(self):
        return _incidents()

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="open,acknowledged,resolved"),
            OpenApiParameter("severity", str, description="low,medium,high,critical"),
            OpenApiParameter("service", str),
            OpenApiParameter("endpoint", str),
            OpenApiParameter("limit", int, description="Resolved incidents to list."),
            OpenApiParameter(
                "active_limit", int, description="Active incidents per page (100)."
            ),
            OpenApiParameter(
                "active_offset", int, description="Active incidents to skip."
            ),
        ],
        responses=IncidentListSerializer,
        operation_id="aiops_incidents_list",
    )
    def list(self, request):
        # A plain dict, not the QueryDict: DRF reads "limit=" in a QueryDict as
        # "not given"; it is an invalid number, and gets a 400.
        filters = IncidentFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        incidents = _incidents()
        if "severity" in wanted:
            incidents = incidents.filter(severity__in=wanted["severity"])
        for field in ("service", "endpoint"):
            if field in wanted:
                value = wanted[field]
                incidents = incidents.filter(
                    Q(**{f"root_{field}": value}) | Q(**{f"anomalies__{field}": value})
                ).distinct()
        statuses = wanted.get("status", ["open", "acknowledged", "resolved"])
        active = incidents.filter(
            status__in=[s for s in statuses if s in ACTIVE_STATUSES]
        )
        resolved = (
            incidents.filter(status="resolved")
            if "resolved" in statuses
            else (incidents.none())
        )
        # Paged: however many incidents are active, one answer stays bounded.
        start, size = wanted["active_offset"], wanted["active_limit"]
        active_count = active.count()
        active_page = list(active.order_by("-last_seen", "-id")[start : start + size])
        context = self.get_serializer_context()
        return Response(
            {
                "active_incidents": IncidentSerializer(
                    active_page, many=True, context=context
                ).data,
                "incident_count": active_count,
                "active_next_offset": start + size
                if start + size < active_count
                else None,
                "resolved_incidents": IncidentSerializer(
                    resolved.order_by("-resolved_at")[: wanted["limit"]],
                    many=True,
                    context=context,
                ).data,
                "resolved_count": resolved.count(),
            }
        )

    def _act(self, request, service) -> Response:
        body = IncidentActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incident = self.get_object()
        outcome = service(
            incident=incident,
            by=request.user.get_username() or LOCAL_ACTOR,
            note=body.validated_data["note"],
            now=timezone.now(),
        )
        if outcome is Outcome.REFUSED:
            return Response(
                {"detail": f"Incident {incident.public_id} is {incident.status}."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(IncidentSerializer(incident, context={"request": request}).data)

    @extend_schema(request=IncidentActionSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, incident_id=None):
        """Open -> acknowledged (records who, when and a note). Idempotent."""
        return self._act(request, incident_acknowledge)

    @extend_schema(request=IncidentActionSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, incident_id=None):
        """Open or acknowledged -> resolved. Idempotent."""
        return self._act(request, incident_resolve)


class AnomalyViewSet(AiopsAPIMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = AnomalySerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        anomalies = Anomaly.objects.select_related("incident").order_by(
            "-last_seen", "-id"
        )
        params = self.request.query_params
        for field in ("type", "service", "endpoint"):
            if params.get(field):
                anomalies = anomalies.filter(**{field: params[field]})
        if params.get("incident"):
            anomalies = anomalies.filter(incident__public_id=params["incident"])
        return anomalies


class BaselineViewSet(AiopsAPIMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = BaselineSerializer
    lookup_value_regex = "[0-9]+"
    queryset = EndpointBaseline.objects.order_by("service", "endpoint")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        now = timezone.now().timestamp()
        context["now"] = now
        context["seasons"] = seasons(since=now, now=now)
        return context


class MetricsView(AiopsAPIMixin, APIView):
    """Latency, errors and traffic per endpoint, next to what was learned as normal."""

    dev_loopback = True

    @extend_schema(parameters=[MetricsQuerySerializer], responses=MetricsSerializer)
    def get(self, request):
        query = MetricsQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        window = query.validated_data["window"]
        now = query.validated_data.get("at") or timezone.now()
        return Response(
            {
                "metrics": endpoint_metrics(now=now, window=window),
                "window_seconds": window,
                "generated_at": now.isoformat(),
            }
        )


class AnalyzeViewSet(AiopsAPIMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Run one analysis cycle now (staff)."""

    serializer_class = AnalyzeResultSerializer
    dev_loopback = True

    @extend_schema(request=None, responses={200: AnalyzeResultSerializer})
    def create(self, request):
        report = run_analysis_cycle(now=timezone.now(), trigger="api")
        body = report.as_dict()
        # The prototype's clients read these.
        body["analysis"] = {
            "anomalies_detected": report.findings,
            "incidents_created": report.lifecycle.opened + report.lifecycle.reopened,
        }
        return Response(body, status=status.HTTP_200_OK)


class ServicesView(AiopsAPIMixin, APIView):
    """Every service with its endpoints and their health (from active incidents)."""

    @extend_schema(responses=ServicesSerializer)
    def get(self, request):
        config = DetectionConfig.from_settings()
        data = {"services": services(now=timezone.now(), idle_after=config.lookback)}
        return Response(ServicesSerializer(data).data)


class DependenciesView(AiopsAPIMixin, APIView):
    """Caller -> callee edges learned from traces, with their recent behaviour."""

    @extend_schema(responses=DependenciesSerializer)
    def get(self, request):
        return Response(DependenciesSerializer({"dependencies": dependencies()}).data)
