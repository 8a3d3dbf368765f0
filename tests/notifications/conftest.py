from __future__ import annotations

import pytest

from tests.notifications.receiver import Receiver


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings):
    # The test receiver listens on this machine, which channels may not target
    # unless it is listed.
    settings.AIOPS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()
