from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _synchronous_side_effects(settings, monkeypatch):
    """Spans are written in the request and django-q2 tasks run inline.

    Tests that exercise the batching writer or a real cluster switch these back.
    """
    from django_q.conf import Conf

    settings.AIOPS_TELEMETRY_SYNC = True
    # The test client is on loopback: tests of who may do what see the production
    # rules; the development opening has tests of its own.
    settings.AIOPS_DEV_OPEN_LOOPBACK = False
    monkeypatch.setattr(Conf, "SYNC", True)
    # Test users need no slow, attack-resistant password hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Throttle counts live in the cache: each test starts with none.
    from django.core.cache import cache

    cache.clear()
    # The endpoint names this process admitted belong to the previous test's data.
    from aiops.telemetry.cardinality import endpoint_names

    endpoint_names.forget()


def make_user(username: str = "viewer", *, staff: bool = False):
    return get_user_model().objects.create_user(
        username=username, password="correct horse battery", is_staff=staff
    )


def token_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def staff_client(db) -> APIClient:
    return token_client(make_user("operator", staff=True))


@pytest.fixture
def user_client(db) -> APIClient:
    return token_client(make_user("viewer"))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    # Live-server tests serve each request on a thread of its own; a persistent
    # connection would outlive its thread and keep the test database busy.
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture
def live_server(live_server, settings):
    """The live server, with the demo shop's calls aimed at it (the shop never
    follows the request's Host header)."""
    settings.AIOPS_DEMO_BASE_URL = live_server.url
    return live_server


def pytest_sessionfinish(session, exitstatus):
    """SQLite's -wal and -shm files of the test database outlive it (a connection
    of a server thread may close after pytest-django dropped the database)."""
    from pathlib import Path

    from django.conf import settings

    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if not name or settings.DATABASES["default"]["ENGINE"].split(".")[-1] != "sqlite3":
        return
    if not Path(name).exists():
        for suffix in ("-wal", "-shm"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
