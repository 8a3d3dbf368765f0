"""Calls missing (``missing_calls``) through real cycles (``run_analysis --at``):
checkouts that answer 200 without calling inventory. What a checkout usually
calls is learned per request, so the incident lasts as long as the fault, and
a surge of checkouts (more calls, and a request rate whose learning pauses) is
no missing call."""

from __future__ import annotations

import pytest

from aiops.detection.models import Incident
from tests.detection.traffic import (
    T0,
    Fault,
    resolve_as_operator,
    run_cycles,
    shop_traffic,
    store,
)

pytestmark = pytest.mark.django_db

SKIPPING = Fault(inventory_skip_rate=0.9)


def opened() -> list[Incident]:
    return list(Incident.objects.order_by("first_detected"))


def test_calls_skipped_for_twenty_minutes_keep_their_incident_open_throughout():
    store(shop_traffic(T0 - 900, 900, rps=2.0))
    store(shop_traffic(T0, 1200, rps=2.0, fault=SKIPPING, seed=2))
    run_cycles(T0 - 900, T0 + 120)
    [incident] = opened()
    assert incident.kind == "errors"
    assert (incident.root_service, incident.root_endpoint) == ("shop", "checkout")
    assert incident.title.startswith("Calls missing on checkout: ")

    for t in range(int(T0) + 150, int(T0) + 1200, 150):
        run_cycles(t - 150, t)
        [incident] = opened()
        assert incident.status == "open", (t - T0, incident.status)
        assert incident.reopen_count == 0


def test_an_operator_resolve_is_final_for_the_skipped_calls_it_saw():
    # Every checkout skips inventory for five minutes; fixed, and resolved, at
    # T0 + 300. A cycle run by hand seconds later still holds those checkouts
    # in its window, and so do the next ones.
    store(shop_traffic(T0 - 900, 900, rps=2.0))
    store(shop_traffic(T0, 300, rps=2.0, fault=Fault(inventory_skip_rate=1.0), seed=2))
    store(shop_traffic(T0 + 300, 900, rps=2.0, seed=3))
    run_cycles(T0 - 900, T0 + 300)
    [incident] = opened()
    resolve_as_operator(incident.public_id, T0 + 301)
    run_cycles(T0 + 300, T0 + 310, interval=10)
    run_cycles(T0 + 310, T0 + 900)

    [incident] = opened()
    assert (incident.status, incident.resolved_by) == ("resolved", "operator")
    assert incident.reopen_count == 0
