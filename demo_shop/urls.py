from django.urls import path

from demo_shop import api, views

urlpatterns = [
    path("health", views.health, name="health"),
    path("checkout", views.checkout, name="checkout"),
    path("payment", views.payment, name="payment"),
    path("inventory", views.inventory, name="inventory"),
    path("simulate/delay", api.SimulateDelayView.as_view(), name="simulate-delay"),
    path("simulate/error", api.SimulateErrorView.as_view(), name="simulate-error"),
    path("simulate/clear", api.SimulateClearView.as_view(), name="simulate-clear"),
    path("simulate/status", api.SimulateStatusView.as_view(), name="simulate-status"),
]
