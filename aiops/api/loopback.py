"""The development opening for people trying the app on their own machine.

The Flask prototype's walk-through is plain ``curl`` with no credentials. With the
Quick start (``AIOPS_ENV`` not ``production``), ``AIOPS_DEV_OPEN_LOOPBACK`` (on by
default there) lets anonymous clients *on this machine* read incidents and
metrics, inject faults, run analysis and acknowledge or resolve incidents: the
views that opt in with ``dev_loopback = True``. Anyone else still needs a token.
Production ignores the setting (and ``manage.py check`` refuses it).
"""

from __future__ import annotations

import ipaddress

from aiops.conf import settings

# Who an anonymous client on this machine is, in "resolved by" and the like.
LOCAL_ACTOR = "localhost"


def is_loopback(request) -> bool:
    # The socket's peer, never X-Forwarded-For: a header anyone can send.
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def dev_loopback(request, view) -> bool:
    """This anonymous request may act as staff on this view (see module doc)."""
    return (
        getattr(view, "dev_loopback", False)
        and settings.AIOPS_DEV_OPEN_LOOPBACK
        and not settings.PRODUCTION
        and not (request.user and request.user.is_authenticated)
        and is_loopback(request)
    )
