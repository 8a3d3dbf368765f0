"""Error pages: JSON for the API and the service, HTML for people's pages.

Never a stack trace or an exception message: DEBUG is off, and these say only what
went wrong from the client's side.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views import defaults

HTML_PREFIXES = ("/admin/", "/aiops/dashboard/")


def _wants_html(request) -> bool:
    return request.path.startswith(HTML_PREFIXES)


def not_found(request, exception=None):
    if _wants_html(request):
        return defaults.page_not_found(request, exception)
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request):
    if _wants_html(request):
        return defaults.server_error(request)
    return JsonResponse({"detail": "Internal server error."}, status=500)


def bad_request(request, exception=None):
    if _wants_html(request):
        return defaults.bad_request(request, exception)
    return JsonResponse({"detail": "Bad request."}, status=400)


def permission_denied(request, exception=None):
    if _wants_html(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse({"detail": "Permission denied."}, status=403)
