"""Who may write spans through ``POST /v1/traces``, and for which services.

Ingestion is authenticated by default: an ``IngestToken`` sent as a bearer token
(or the legacy ``AIOPS_OTLP_TOKEN``), each allowed a list of services (or any).
Spans of this app's own service (``AIOPS_SERVICE_NAME``) are recorded by its
middleware only: no token can write them, so the demo shop's traffic cannot be
forged. ``AIOPS_OTLP_OPEN_LOOPBACK`` lets clients on this machine export without
a token, in development only (a system check refuses it in production).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.utils import timezone

from aiops.conf import settings
from aiops.telemetry.models import IngestToken

KEY_PREFIX = "aiops_"
# last_used_at is written at most this often per token.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class IngestIdentity:
    name: str
    # None: any service (but the app's own).
    services: frozenset[str] | None

    def may_write(self, service: str) -> bool:
        if service == settings.AIOPS_SERVICE_NAME:
            return False
        return self.services is None or service in self.services

    def refusal(self, service: str) -> str:
        if service == settings.AIOPS_SERVICE_NAME:
            return (
                f"service {service!r} is this app's own: only its middleware records it"
            )
        return f"token {self.name!r} may not write spans for service {service!r}"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_ingest_token(
    *, name: str, services: list[str] | None = None
) -> tuple[IngestToken, str]:
    """A new token and its key (shown once; only its hash is kept)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = IngestToken.objects.create(
        name=name,
        key_hash=_hash(key),
        prefix=key[: len(KEY_PREFIX) + 4],
        services=sorted(set(services or [])),
    )
    return token, key


def ensure_default_ingest_token(*, data_dir: Path) -> tuple[IngestToken, Path, bool]:
    """The token ``aiops_setup`` makes once, its key left in ``data_dir`` (0600)."""
    path = data_dir / "ingest_token"
    existing = IngestToken.objects.filter(name="default").first()
    if existing is not None and path.exists():
        key = path.read_text().strip()
        if hmac.compare_digest(_hash(key), existing.key_hash):
            return existing, path, False
    if existing is not None:
        # The key file is gone or no longer matches: make a new key.
        existing.delete()
    token, key = create_ingest_token(name="default")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(key + "\n")
    return token, path, True


def _bearer(request) -> str | None:
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return None
    return given.strip()


def _loopback(request) -> bool:
    # The socket's peer, never X-Forwarded-For: a header anyone can send.
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def authenticate_ingest(
    request, *, now: datetime | None = None
) -> IngestIdentity | None:
    """The identity of an OTLP client, or None if it may not write at all."""
    key = _bearer(request)
    if key is not None:
        legacy = settings.AIOPS_OTLP_TOKEN
        if legacy and hmac.compare_digest(key, legacy):
            return IngestIdentity("AIOPS_OTLP_TOKEN", None)
        token = IngestToken.objects.filter(key_hash=_hash(key), enabled=True).first()
        if token is None:
            return None
        now = now or timezone.now()
        if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
            IngestToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return IngestIdentity(token.name, frozenset(token.services) or None)
    if (
        settings.AIOPS_OTLP_OPEN_LOOPBACK
        and not settings.PRODUCTION
        and _loopback(request)
    ):
        return IngestIdentity("loopback", None)
    return None
