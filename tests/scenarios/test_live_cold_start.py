"""The issue's reproductions over real HTTP, on a fresh database: the demo shop
served by a live server, faults injected and cycles run through the API, as a new
user following the README would."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import urllib3

from aiops.detection.models import EndpointBaseline
from tests.conftest import make_user, token_client
from tests.scenarios.timeline import incidents

http = urllib3.PoolManager(maxsize=8, retries=False)


def checkouts(base: str, n: int) -> list[int]:
    def one(_):
        return http.request("POST", f"{base}/checkout", timeout=10).status

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


@pytest.fixture
def api(db):
    return token_client(make_user("operator", staff=True))


def cycle(api) -> dict:
    response = api.post("/aiops/analyze")
    assert response.status_code == 200, response.content
    return response.json()


def test_fresh_install_finds_a_latency_fault_and_honours_a_resolve(live_server, api):
    # 80 checkouts over about 25 s: a baseline judges once it has seen 20
    # requests from 20 distinct seconds, not from one burst of requests (see
    # test_a_burst_of_calm_requests_is_not_enough_to_judge_by).
    for _ in range(20):
        assert set(checkouts(live_server.url, 4)) == {200}
        time.sleep(1.2)
    cycle(api)
    cycle(api)
    assert api.post("/simulate/delay?endpoint=payment&duration=600").status_code == 200
    assert set(checkouts(live_server.url, 30)) == {200}

    reports = [cycle(api), cycle(api)]

    assert sum(r["opened"] for r in reports) == 1
    (incident,) = incidents(api)
    assert (incident["root_cause"]["endpoint"], incident["kind"]) == (
        "payment",
        "latency",
    )
    assert EndpointBaseline.objects.get(endpoint="payment").tail_fraction < 0.05

    # Cleared and resolved while the slow requests are still in the window: the
    # next cycles leave the operator's resolve alone.
    api.post("/simulate/clear")
    assert set(checkouts(live_server.url, 20)) == {200}
    resolved = api.post(f"/aiops/incidents/{incident['id']}/resolve")
    assert resolved.json()["resolved_by"] == "operator"
    cycle(api)
    cycle(api)

    (after,) = incidents(api)
    assert after["status"] == "resolved"
    assert after["resolved_by"] == "operator"
