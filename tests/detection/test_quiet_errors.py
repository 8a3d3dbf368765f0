"""A quiet endpoint (a request every half minute or so, a night's traffic)
whose requests start failing: the first failure must not teach its baseline a
tenth of an error rate. Found by the seasonal benchmark, where 11 of 15
payments failed in a quarter hour at 03:30 and no incident opened: the first
failed request had been learned as a 10 % usual error rate, and every later
one was tested against that."""

from __future__ import annotations

import random

import pytest

from aiops.detection.models import EndpointBaseline, Incident
from tests.detection.traffic import (
    T0,
    Fault,
    checkout_trace,
    run_cycles,
    shop_traffic,
    store,
)

pytestmark = pytest.mark.django_db

HOUR = 3600


def test_a_night_fault_on_a_quiet_endpoint_opens_its_incident():
    store(shop_traffic(T0 - 2 * HOUR, 2 * HOUR, rps=0.03, seed=11))
    store(shop_traffic(T0, 900, rps=0.03, fault=Fault(payment_error_rate=0.7), seed=12))
    run_cycles(T0 - 2 * HOUR, T0 + 900)

    [incident] = Incident.objects.all()
    assert incident.kind == "errors"
    assert (incident.root_service, incident.root_endpoint) == ("shop", "payment")


def test_one_failed_request_moves_a_quiet_endpoints_error_rate_by_about_one_hundredth():
    store(shop_traffic(T0 - 2 * HOUR, 2 * HOUR, rps=0.03, seed=11))
    run_cycles(T0 - 2 * HOUR, T0)
    before = EndpointBaseline.objects.get(endpoint="payment").error_rate
    store(checkout_trace(T0 + 10, random.Random(13), Fault(payment_error_rate=1.0)))
    run_cycles(T0, T0 + 60)

    after = EndpointBaseline.objects.get(endpoint="payment").error_rate
    assert after - before < 0.02, (before, after)
