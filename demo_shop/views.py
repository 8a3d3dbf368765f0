"""The monitored demo endpoints. Plain Django views: they are what the middleware
measures, so they stay free of API-framework overhead."""

from __future__ import annotations

import random
import time
import uuid

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from aiops.telemetry.middleware import record_exception, trace_context_of
from aiops.telemetry.outgoing import outgoing_call
from demo_shop import client
from demo_shop.faults import InjectedFault, apply_fault


def _trace_id(request) -> str | None:
    context = trace_context_of(request)
    return context.trace_id if context else None


def _work(median_ms: float) -> None:
    # Log-normal service time: most requests near the median, a few slower.
    time.sleep(random.lognormvariate(0, 0.15) * median_ms / 1000.0)


def _injected_error(request, endpoint: str, exc: InjectedFault) -> JsonResponse:
    record_exception(request, exc)
    return JsonResponse(
        {"error": str(exc), "endpoint": endpoint, "trace_id": _trace_id(request)},
        status=500,
    )


@require_GET
def health(request):
    try:
        apply_fault("health")
    except InjectedFault as exc:
        return _injected_error(request, "health", exc)
    return JsonResponse({"status": "healthy", "trace_id": _trace_id(request)})


@csrf_exempt
@require_POST
def payment(request):
    try:
        apply_fault("payment")
        _work(100)
    except InjectedFault as exc:
        return _injected_error(request, "payment", exc)
    return JsonResponse(
        {
            "status": "paid",
            "payment_id": uuid.uuid4().hex[:12],
            "trace_id": _trace_id(request),
        }
    )


@require_GET
def inventory(request):
    try:
        apply_fault("inventory")
        _work(50)
    except InjectedFault as exc:
        return _injected_error(request, "inventory", exc)
    return JsonResponse(
        {
            "status": "in_stock",
            "items": random.randint(1, 500),
            "trace_id": _trace_id(request),
        }
    )


def _downstream_base() -> str:
    # The configured address, never the request's Host header (see settings).
    return settings.AIOPS_DEMO_BASE_URL.rstrip("/")


@csrf_exempt
@require_POST
def checkout(request):
    """Pay, then reserve stock, over real HTTP, as children of this request's span."""
    try:
        apply_fault("checkout")
    except InjectedFault as exc:
        return _injected_error(request, "checkout", exc)
    context = trace_context_of(request)
    base = _downstream_base()
    results = {}
    for step, method in (("payment", "POST"), ("inventory", "GET")):
        url = f"{base}/{step}"
        try:
            with outgoing_call(
                context, method=method, url=url, name=f"{method} /{step}"
            ) as call:
                status, body = client.call(
                    method, url, headers={"Accept": "application/json", **call.headers}
                )
                call.status = status
        except client.DownstreamError as exc:
            record_exception(request, exc)
            return JsonResponse(
                {
                    "error": f"{step} call failed: {exc}",
                    "failed_call": step,
                    "trace_id": _trace_id(request),
                },
                status=502,
            )
        if status >= 400:
            record_exception(
                request, client.DownstreamError(f"{step} returned {status}")
            )
            return JsonResponse(
                {
                    "error": f"{step} call failed with status {status}",
                    "failed_call": step,
                    "downstream_status": status,
                    "trace_id": _trace_id(request),
                },
                status=502,
            )
        results[step] = body
    return JsonResponse(
        {
            "status": "completed",
            "order_id": uuid.uuid4().hex[:12],
            "payment_id": results["payment"].get("payment_id"),
            "trace_id": _trace_id(request),
        }
    )
