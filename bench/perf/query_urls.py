"""The site's URLs plus ``GET /ten-queries``: ten primary-key lookups on a table
every install has, each its own SELECT (``overhead.py --scenario queries``)."""

from django.contrib.contenttypes.models import ContentType
from django.http import JsonResponse
from django.urls import include, path


def ten_queries(request):
    models = [
        ContentType.objects.filter(pk=pk).values_list("model", flat=True).first()
        for pk in range(1, 11)
    ]
    return JsonResponse({"models": models})


urlpatterns = [
    path("ten-queries", ten_queries, name="ten-queries"),
    path("", include("aiops_site.urls")),
]
