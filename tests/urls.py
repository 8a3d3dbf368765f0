"""The real URLconf plus a few views that misbehave on purpose."""

from django.http import HttpResponse, JsonResponse
from django.urls import include, path


def boom(request):
    secret = "hunter2"  # noqa: F841 - must not reach the stored stack trace
    raise ValueError("database password=hunter2 rejected")


def leaky(request):
    # Everything an unlucky exception message could carry.
    raise RuntimeError(
        f"upstream refused {request.get_full_path()} "
        f"(Authorization: {request.headers.get('Authorization')}; "
        f"Cookie: {request.headers.get('Cookie')})"
    )


def not_found(request, order_id: int):
    return JsonResponse({"error": "no such order"}, status=404)


def orders(request, order_id: int):
    return HttpResponse("ok")


urlpatterns = [
    path("boom", boom, name="boom"),
    path("leaky", leaky, name="leaky"),
    path("orders/<int:order_id>", orders, name="order-detail"),
    path("orders/<int:order_id>/missing", not_found),
    path("", include("aiops_site.urls")),
]
