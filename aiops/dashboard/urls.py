from django.urls import path

from aiops.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("endpoint", views.endpoint, name="endpoint"),
    path("incidents", views.incidents, name="incidents"),
    path("incidents/<str:public_id>", views.incident, name="incident"),
    path(
        "incidents/<str:public_id>/acknowledge", views.acknowledge, name="acknowledge"
    ),
    path("incidents/<str:public_id>/resolve", views.resolve, name="resolve"),
    path("map", views.service_map, name="map"),
]
