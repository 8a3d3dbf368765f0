"""Changes over the API: record one (staff token), list them, see what one did."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from aiops.api.base import AiopsAPIMixin
from aiops.changes.impact import impact
from aiops.changes.models import Change, ChangeKind
from aiops.changes.recording import ChangeError, ChangeInput, record_change
from aiops.detection.api.serializers import IsoDateTimeField


class ChangeSerializer(serializers.ModelSerializer):
    at = IsoDateTimeField()
    created_at = IsoDateTimeField()
    description = serializers.CharField(source="describe", read_only=True)

    class Meta:
        model = Change
        fields = [
            "id",
            "service",
            "kind",
            "version",
            "previous_version",
            "note",
            "at",
            "source",
            "recorded_by",
            "created_at",
            "description",
        ]
        read_only_fields = fields


class ChangeInputSerializer(serializers.Serializer):
    """What a pipeline sends; the service validates the rest."""

    service = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=ChangeKind.choices, default="deploy")
    version = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default=""
    )
    previous_version = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    at = serializers.DateTimeField(
        required=False,
        default=None,
        help_text="When it took effect (ISO 8601 with an offset); now if left out.",
    )


class ChangeViewSet(
    AiopsAPIMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Deployments, configuration changes and feature flags, newest first.

    One change shows, besides itself, what it did: its service's endpoints before
    and after it (``impact``)."""

    serializer_class = ChangeSerializer

    def get_queryset(self):
        changes = Change.objects.all()
        service = self.request.query_params.get("service")
        if service:
            changes = changes.filter(service=service)
        return changes

    @extend_schema(request=ChangeInputSerializer, responses={201: ChangeSerializer})
    def create(self, request):
        given = ChangeInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            change = record_change(
                ChangeInput(**given.validated_data),
                source="api",
                by=request.user.get_username(),
                now=timezone.now(),
            )
        except ChangeError as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from None
        return Response(ChangeSerializer(change).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, *args, **kwargs):
        change = self.get_object()
        body = ChangeSerializer(change).data
        body["impact"] = impact(change, now=timezone.now())
        return Response(body)
