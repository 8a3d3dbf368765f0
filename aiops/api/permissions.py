from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from aiops.api.loopback import dev_loopback
from aiops.conf import settings


def _is_staff(user) -> bool:
    return bool(user and user.is_authenticated and user.is_staff)


class ReadAuthenticatedWriteStaff(BasePermission):
    """Reads need a logged-in user (or ``AIOPS_PUBLIC_READ``); writes need staff."""

    def has_permission(self, request, view) -> bool:
        if dev_loopback(request, view):
            return True
        if request.method in SAFE_METHODS:
            if getattr(settings, "AIOPS_PUBLIC_READ", False):
                return True
            return bool(request.user and request.user.is_authenticated)
        return _is_staff(request.user)


class StaffOnly(BasePermission):
    def has_permission(self, request, view) -> bool:
        return dev_loopback(request, view) or _is_staff(request.user)
