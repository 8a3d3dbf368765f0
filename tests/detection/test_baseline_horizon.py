"""How long a learned baseline outlives its endpoint's silence: the longer of
the span retention and the seasonal history's days, so an endpoint used once a
week (a weekly job, a Sunday report) keeps what it learned between its runs,
and one gone for longer than the history is forgotten."""

from __future__ import annotations

import pytest

from aiops.detection.core.seasonal import DAY_SECONDS, HISTORY_DAYS
from aiops.detection.models import EndpointBaseline
from tests.detection.traffic import T0, run_cycles, shop_traffic, store

pytestmark = pytest.mark.django_db


def learned() -> set[str]:
    return set(EndpointBaseline.objects.values_list("endpoint", flat=True))


@pytest.mark.parametrize("retention_days", [7, 30])
def test_a_weekly_endpoint_keeps_its_baseline_and_a_gone_one_is_forgotten(
    settings, retention_days
):
    settings.AIOPS_RETENTION_DAYS = retention_days
    store(shop_traffic(T0, 900, rps=1.0))
    run_cycles(T0, T0 + 900)
    assert {"checkout", "payment", "inventory"} <= learned()

    week_later = T0 + 8 * DAY_SECONDS
    run_cycles(week_later, week_later + 30)
    assert {"checkout", "payment", "inventory"} <= learned()

    gone = T0 + (max(retention_days, HISTORY_DAYS) + 1) * DAY_SECONDS
    run_cycles(gone, gone + 30)
    assert not {"checkout", "payment", "inventory"} & learned()
