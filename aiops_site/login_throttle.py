"""Sign-in throttling for the admin's login form.

After ``AIOPS_LOGIN_MAX_FAILURES`` failed sign-ins for one account from one
address (or four times that from one address, whatever the accounts) within
``AIOPS_LOGIN_LOCKOUT`` seconds, further attempts are refused with a message
saying so, the right password included, until the period ends. Counts live in
Django's cache (per process with the default local-memory cache).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError


def _keys(request, username: str) -> tuple[str, str]:
    address = (request.META.get("REMOTE_ADDR", "") if request else "")[:64]
    return f"login-fail:{address}:{username[:150]}", f"login-fail:{address}"


class ThrottledAuthenticationForm(AdminAuthenticationForm):
    def clean(self):
        username = self.cleaned_data.get("username") or ""
        account, address = _keys(self.request, username)
        limit = settings.AIOPS_LOGIN_MAX_FAILURES
        if cache.get(account, 0) >= limit or cache.get(address, 0) >= 4 * limit:
            minutes = max(round(settings.AIOPS_LOGIN_LOCKOUT / 60), 1)
            raise ValidationError(
                f"Too many failed sign-ins; try again in {minutes} minutes.",
                code="throttled",
            )
        try:
            return super().clean()
        except ValidationError:
            for key in (account, address):
                cache.add(key, 0, timeout=settings.AIOPS_LOGIN_LOCKOUT)
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.set(key, 1, timeout=settings.AIOPS_LOGIN_LOCKOUT)
            raise
