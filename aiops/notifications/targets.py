"""Where notifications may be sent.

Webhook and Slack URLs are typed in by staff, and requests to them carry
incident details: aimed at this machine (loopback), at link-local addresses or at
a cloud's metadata service, they would turn the app into a way to reach what
only the server can reach. Those targets are refused unless their host is listed
in ``AIOPS_WEBHOOK_ALLOWED_HOSTS`` (a receiver on this machine, in development).
Private networks (10/8, 192.168/16...) are allowed: internal alert receivers
live there. Checked when a channel is saved and again, with the name resolved,
before each delivery.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from aiops.conf import settings

METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.azure.com", "instance-data"}
)


def _address_refusal(address: str) -> str | None:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if ip.is_loopback:
        return "a loopback address (this machine)"
    if ip.is_link_local:
        return "a link-local address (cloud metadata services live there)"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "not a unicast address"
    if ip == ipaddress.ip_address("fd00:ec2::254"):
        return "a cloud metadata address"
    return None


def refusal(url: str, *, resolve: bool) -> str | None:
    """Why notifications may not go to ``url``, or None if they may. With
    ``resolve``, the host name's addresses are checked too."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "not a valid URL"
    if not host:
        return "the URL has no host"
    if host in {h.lower() for h in settings.AIOPS_WEBHOOK_ALLOWED_HOSTS}:
        return None
    if host in METADATA_NAMES or host == "localhost" or host.endswith(".localhost"):
        return f"{host} is refused as a notification target"
    reason = _address_refusal(host)
    if reason is None and resolve:
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except OSError:
            return None  # unresolvable: the delivery itself fails and says so
        for *_, sockaddr in infos:
            reason = _address_refusal(sockaddr[0])
            if reason:
                break
    if reason:
        return f"{host} is {reason}; list it in AIOPS_WEBHOOK_ALLOWED_HOSTS to allow it"
    return None
