"""A host project's URLconf: its own views (one async), the product under /aiops/."""

import asyncio

from django.http import JsonResponse
from django.urls import include, path


async def async_hello(request):
    await asyncio.sleep(0.005)
    return JsonResponse({"hello": "async"})


async def async_boom(request):
    await asyncio.sleep(0)
    raise ValueError("async view failed")


def sync_hello(request):
    return JsonResponse({"hello": "sync"})


urlpatterns = [
    path("hello/async", async_hello, name="async-hello"),
    path("hello/async-boom", async_boom, name="async-boom"),
    path("hello/sync", sync_hello, name="sync-hello"),
    path("aiops/", include("aiops.urls")),
]
