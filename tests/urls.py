"""The real URLconf plus a few views that misbehave on purpose."""

from django.contrib.auth.models import Permission
from django.db import connection
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


def n_plus_one(request):
    # The classic: a relation touched per item of a list, one query each.
    names = [p.content_type.model for p in Permission.objects.order_by("id")[:20]]
    return JsonResponse({"names": names})


def three_lookups(request):
    ids = list(Permission.objects.order_by("id").values_list("id", flat=True)[:3])
    names = [Permission.objects.get(pk=pk).codename for pk in ids]
    return JsonResponse({"names": names})


SECRET_LITERAL = "sk_live_hunter2"


def secret_lookup(request):
    # Raw SQL with literal values in its text (parameters would be better).
    with connection.cursor() as cursor:
        for _ in range(12):
            cursor.execute(
                "SELECT COUNT(*) FROM auth_user "
                f"WHERE username = '{SECRET_LITERAL}' OR id = 987654"
            )
    return HttpResponse("ok")


def many_queries(request):
    distinct = request.GET.get("distinct") == "1"
    with connection.cursor() as cursor:
        for i in range(1000):
            # Distinct texts (a literal each) or the same text every time.
            cursor.execute(f"SELECT {i if distinct else 1}")
    return HttpResponse("ok")


async def async_queries(request):
    counts = [await Permission.objects.acount() for _ in range(3)]
    return JsonResponse({"counts": counts})


urlpatterns = [
    path("n-plus-one", n_plus_one, name="n-plus-one"),
    path("three-lookups", three_lookups, name="three-lookups"),
    path("secret-lookup", secret_lookup, name="secret-lookup"),
    path("many-queries", many_queries, name="many-queries"),
    path("async-queries", async_queries, name="async-queries"),
    path("boom", boom, name="boom"),
    path("leaky", leaky, name="leaky"),
    path("orders/<int:order_id>", orders, name="order-detail"),
    path("orders/<int:order_id>/missing", not_found),
    path("", include("aiops_site.urls")),
]
