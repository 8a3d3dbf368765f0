"""Dashboard pages: parse, call selectors or services, render. Login required;
acknowledge and resolve (staff) call the same services as the API and admin."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from aiops.dashboard import charts, selectors
from aiops.detection.actions import Outcome, incident_acknowledge, incident_resolve
from aiops.detection.config import DetectionConfig
from aiops.detection.models import ACTIVE_STATUSES, Incident


def _login_url() -> str:
    """The admin's sign-in page where the project mounts the admin, else the
    project's own ``LOGIN_URL``."""
    try:
        return reverse("admin:login")
    except NoReverseMatch:
        return settings.LOGIN_URL


def _requiring(allowed):
    """``login_required`` (or ``staff_member_required``), with the sign-in page
    found when a request comes: it depends on the project's URLs."""

    def decorate(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if allowed(request.user):
                return view(request, *args, **kwargs)
            return redirect_to_login(request.get_full_path(), _login_url())

        return checked

    return decorate


signed_in = _requiring(lambda user: user.is_authenticated)
staff_only = _requiring(lambda user: user.is_active and user.is_staff)


@signed_in
def overview(request):
    now = timezone.now()
    rows = selectors.overview(
        now=now, idle_after=DetectionConfig.from_settings().lookback
    )
    active = Incident.objects.active().order_by("-last_seen")[:10]
    return render(
        request,
        "dashboard/overview.html",
        {"rows": rows, "incidents": active, "now": now, "page": "overview"},
    )


@signed_in
def endpoint(request):
    service, name = request.GET.get("service", ""), request.GET.get("endpoint", "")
    if (service, name) not in set(selectors.endpoint_names()):
        raise Http404("No such endpoint")
    chosen = request.GET.get("range", "1h")
    if chosen not in selectors.RANGES:
        chosen = "1h"
    now = timezone.now()
    drawn = selectors.endpoint_charts(
        service=service, endpoint=name, now=now, seconds=selectors.RANGES[chosen]
    )
    return render(
        request,
        "dashboard/endpoint.html",
        {
            "service": service,
            "endpoint": name,
            "range": chosen,
            "ranges": list(selectors.RANGES),
            "page": "overview",
            "charts": [
                (chart.title, chart.unit_name, mark_safe(charts.render(chart)))  # noqa: S308
                for chart in drawn
            ],
        },
    )


@signed_in
def incidents(request):
    active = Incident.objects.filter(status__in=ACTIVE_STATUSES).order_by("-last_seen")
    resolved = Paginator(
        Incident.objects.filter(status="resolved").order_by("-resolved_at"), 25
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboard/incidents.html",
        {
            "active": active,
            "resolved": resolved,
            "now": timezone.now(),
            "page": "incidents",
        },
    )


@signed_in
def incident(request, public_id: str):
    item = get_object_or_404(
        Incident.objects.prefetch_related("anomalies", "events"), public_id=public_id
    )
    traces = selectors.example_traces(item)
    known = [t["trace_id"] for t in traces]
    trace_id = request.GET.get("trace", "")
    if trace_id not in known:
        trace_id = known[0] if known else ""
    bars = selectors.trace_bars(trace_id) if trace_id else []
    empty = (
        "No spans of this trace are stored any more."
        if trace_id
        else "No example trace: this incident's evidence has no stored trace "
        "(silence, or spans without trace ids, or pruned)."
    )
    return render(
        request,
        "dashboard/incident.html",
        {
            "incident": item,
            "timeline": selectors.timeline(item),
            "trace_id": trace_id,
            "traces": traces,
            "waterfall": mark_safe(charts.waterfall(bars, empty=empty)),  # noqa: S308
            "page": "incidents",
        },
    )


def _act(request, public_id: str, service, verb: str):
    item = get_object_or_404(Incident, public_id=public_id)
    note = request.POST.get("note", "")[:2000]
    outcome = service(
        incident=item, by=request.user.get_username(), note=note, now=timezone.now()
    )
    if outcome is Outcome.REFUSED:
        messages.error(request, f"{item.public_id} is {item.status}; not {verb}.")
    elif outcome is Outcome.UNCHANGED:
        messages.info(request, f"{item.public_id} was already {verb}.")
    else:
        messages.success(request, f"{item.public_id} {verb}.")
    return redirect("dashboard:incident", public_id=public_id)


@require_POST
@staff_only
def acknowledge(request, public_id: str):
    return _act(request, public_id, incident_acknowledge, "acknowledged")


@require_POST
@staff_only
def resolve(request, public_id: str):
    return _act(request, public_id, incident_resolve, "resolved")


@signed_in
def service_map(request):
    graph = selectors.service_graph()
    detail = selectors.endpoint_graph()
    return render(
        request,
        "dashboard/map.html",
        {
            "map": mark_safe(charts.service_map(**graph)),  # noqa: S308
            "endpoint_map": mark_safe(  # noqa: S308
                charts.service_map(**detail, box_w=210)
            )
            if detail
            else None,
            "page": "map",
        },
    )
