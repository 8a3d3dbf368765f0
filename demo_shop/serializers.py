"""Validation of simulation parameters. Each error names the parameter and what it
accepts; nothing is changed unless every parameter is valid."""

from __future__ import annotations

import math

from django.conf import settings
from rest_framework import serializers

from demo_shop.faults import normalize_endpoint
from demo_shop.models import DEMO_ENDPOINTS

_ENDPOINTS_HELP = ", ".join(DEMO_ENDPOINTS)


class EndpointField(serializers.CharField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        name = normalize_endpoint(value)
        if name is None:
            raise serializers.ValidationError(
                f"unknown endpoint {value[:50]!r}; allowed: {_ENDPOINTS_HELP} "
                "(with or without a leading /)"
            )
        return name


def _finite_number(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise serializers.ValidationError(f"{name} must be a number") from None
    if not math.isfinite(number):
        raise serializers.ValidationError(f"{name} must be a finite number")
    return number


class DelaySerializer(serializers.Serializer):
    endpoint = EndpointField(
        help_text=f"One of {_ENDPOINTS_HELP}; a leading / is accepted."
    )
    duration = serializers.CharField(help_text="Added delay in milliseconds.")

    def validate_duration(self, value) -> int:
        limit = settings.AIOPS_DEMO_MAX_DELAY_MS
        number = _finite_number(value, "duration")
        if not number.is_integer() or not 0 <= number <= limit:
            raise serializers.ValidationError(
                f"duration must be a whole number of milliseconds from 0 to {limit}"
            )
        return int(number)


class ErrorRateSerializer(serializers.Serializer):
    endpoint = EndpointField(
        help_text=f"One of {_ENDPOINTS_HELP}; a leading / is accepted."
    )
    rate = serializers.CharField(help_text="Share of requests that fail, from 0 to 1.")

    def validate_rate(self, value) -> float:
        number = _finite_number(value, "rate")
        if not 0.0 <= number <= 1.0:
            raise serializers.ValidationError("rate must be between 0 and 1")
        return number


class ClearSerializer(serializers.Serializer):
    endpoint = EndpointField(
        required=False, help_text="Clear only this endpoint's faults."
    )


class FaultSerializer(serializers.Serializer):
    endpoint = serializers.CharField()
    delay_ms = serializers.IntegerField()
    error_rate = serializers.FloatField()


class SimulationStatusSerializer(serializers.Serializer):
    faults = FaultSerializer(many=True)
    endpoints = serializers.ListField(child=serializers.CharField())


class ClearResultSerializer(serializers.Serializer):
    cleared = serializers.ListField(child=serializers.CharField())
    faults = FaultSerializer(many=True)
