"""Traffic surges and drops against the hour of the week, and error rates usual
at an hour (issue 20), through real cycles (``run_analysis --at``) on a real
database whose seasonal history says what this quarter hour usually brings.

Checkouts usually arrive at about 2 per second at 10:00 on this weekday and on
the last days. Four times that is a surge; a tenth of it, a drop (an outage
upstream of the shop); the usual rate is nothing, and neither is any rate before
a week of history is known, nor the quarter hour after the analysis was down
for ten minutes while traffic went on.
"""

from __future__ import annotations

import pytest

from aiops.detection.core.seasonal import SLOT_SECONDS, day_and_slot
from aiops.detection.models import Incident, SeasonalSlot
from tests.detection.traffic import (
    T0,
    Fault,
    resolve_as_operator,
    run_cycles,
    shop_traffic,
    store,
)

pytestmark = pytest.mark.django_db

USUAL_RPS = (1.8, 2.0, 2.2, 1.9)  # a week ago, then the last three days
WEEK_AGO_AND_RECENT = (7, 1, 2, 3)


def seed(
    endpoint: str = "checkout",
    *,
    days_back=WEEK_AGO_AND_RECENT,
    rates=USUAL_RPS,
    error_rate: float = 0.0,
) -> None:
    """The quarter hours around T0 (09:30 to 10:45) on earlier days: watched
    whole, at these rates."""
    for back, rate in zip(days_back, rates, strict=True):
        for offset in range(-2, 3):
            day, slot = day_and_slot(T0 + offset * SLOT_SECONDS)
            requests = int(rate * SLOT_SECONDS)
            SeasonalSlot.objects.create(
                service="shop",
                endpoint=endpoint,
                day=day - back,
                slot=slot,
                requests=requests,
                errors=int(requests * error_rate),
                seconds=SLOT_SECONDS,
            )


def opened() -> list[Incident]:
    return list(Incident.objects.order_by("first_detected"))


def test_the_usual_traffic_opens_nothing_and_cycles_record_what_they_watched():
    seed()
    store(shop_traffic(T0 - 600, 1800, rps=2.0))
    run_cycles(T0 - 600, T0 + 1200)

    assert opened() == []
    day, slot = day_and_slot(T0 + 1)
    row = SeasonalSlot.objects.get(endpoint="checkout", day=day, slot=slot)
    assert row.seconds == SLOT_SECONDS
    assert 1500 < row.requests < 2100


def test_a_surge_opens_one_traffic_incident_rooted_where_it_enters():
    seed()
    store(shop_traffic(T0 - 600, 900, rps=2.0))
    store(shop_traffic(T0 + 300, 600, rps=8.0, seed=2))
    run_cycles(T0 - 600, T0 + 900)

    [incident] = opened()
    assert incident.kind == "traffic"
    assert (incident.root_service, incident.root_endpoint) == ("shop", "checkout")
    # Found within a few minutes of its start (at T0 + 300).
    assert incident.first_detected.timestamp() <= T0 + 300 + 240
    [anomaly] = incident.anomalies.filter(type="traffic_surge")
    assert "Traffic surge" in anomaly.summary and "expected" in anomaly.summary
    assert "10:" in anomaly.summary and "hour of week" in anomaly.summary


def test_a_surge_that_lasts_is_one_incident_not_missing_calls_too():
    # Five times the usual checkouts for ten minutes: while the request rate's
    # learning pauses, the calls they make are still the usual per checkout.
    seed()
    store(shop_traffic(T0 - 600, 900, rps=2.0))
    store(shop_traffic(T0 + 300, 600, rps=10.0, seed=2))
    store(shop_traffic(T0 + 900, 600, rps=2.0, seed=3))
    run_cycles(T0 - 600, T0 + 1500)

    [incident] = opened()
    assert incident.kind == "traffic"
    assert {a.type for a in incident.anomalies.all()} == {"traffic_surge"}


def test_a_drop_is_an_outage_upstream():
    seed()
    store(shop_traffic(T0 - 600, 900, rps=2.0))
    store(shop_traffic(T0 + 300, 600, rps=0.1, seed=3))
    run_cycles(T0 - 600, T0 + 900)

    [incident] = opened()
    assert incident.kind == "traffic"
    assert incident.severity == "high"
    [anomaly] = incident.anomalies.filter(type="traffic_drop")
    assert "Traffic drop" in anomaly.summary


def test_without_a_week_of_history_traffic_is_not_judged():
    # Only the last three days: a Saturday would be judged by weekdays.
    seed(days_back=(1, 2, 3), rates=USUAL_RPS[1:])
    store(shop_traffic(T0 - 600, 900, rps=2.0))
    store(shop_traffic(T0 + 300, 600, rps=8.0, seed=2))
    run_cycles(T0 - 600, T0 + 900)

    assert opened() == []


def test_analysis_down_for_ten_minutes_while_traffic_went_on_is_no_drop():
    seed()
    store(shop_traffic(T0 - 600, 1800, rps=2.0))
    run_cycles(T0 - 600, T0 + 60)
    # Down from T0 + 60 to T0 + 660: the requests then are never counted, and
    # neither are those seconds.
    run_cycles(T0 + 660, T0 + 1200)

    assert opened() == []
    day, slot = day_and_slot(T0 + 1)
    row = SeasonalSlot.objects.get(endpoint="checkout", day=day, slot=slot)
    assert row.seconds < SLOT_SECONDS - 300


def test_an_error_rate_usual_at_this_hour_raises_the_bar_but_not_past_a_fault():
    for endpoint in ("checkout", "payment"):
        seed(endpoint, error_rate=0.3)
    store(shop_traffic(T0 - 600, 900, rps=2.0, fault=Fault(payment_error_rate=0.3)))
    run_cycles(T0 - 600, T0 + 300)
    assert opened() == []

    store(shop_traffic(T0 + 300, 600, rps=2.0, fault=Fault(payment_error_rate=0.9)))
    run_cycles(T0 + 300, T0 + 900)
    [incident] = opened()
    assert incident.kind == "errors"
    [anomaly] = incident.anomalies.filter(type="error_spike", endpoint="payment")
    assert "at 10:" in anomaly.summary
    assert 0.25 <= anomaly.expected <= 0.35


def test_the_same_error_rate_without_history_pages():
    store(shop_traffic(T0 - 600, 900, rps=2.0, fault=Fault(payment_error_rate=0.3)))
    run_cycles(T0 - 600, T0 + 300)

    assert [i.kind for i in opened()] == ["errors"]


def test_spans_an_exporter_held_back_are_no_surge_when_they_arrive():
    quiet = (0.18, 0.2, 0.22, 0.19)
    seed(rates=quiet)
    store(shop_traffic(T0 - 600, 720, rps=0.2))
    # The exporter holds everything from T0 + 120 to T0 + 300 back...
    run_cycles(T0 - 600, T0 + 300)
    # ...and flushes three minutes of requests at once.
    store(shop_traffic(T0 + 120, 780, rps=0.2, seed=4))
    run_cycles(T0 + 300, T0 + 900)

    assert opened() == []
    day, slot = day_and_slot(T0 + 1)
    row = SeasonalSlot.objects.get(endpoint="checkout", day=day, slot=slot)
    assert 130 < row.requests < 230  # the late ones counted in their own slot


def test_a_drop_of_everything_says_the_telemetry_may_have_stopped():
    seed()
    store(shop_traffic(T0 - 600, 900, rps=2.0))
    run_cycles(T0 - 600, T0 + 600)

    [incident] = opened()
    [anomaly] = incident.anomalies.filter(type="traffic_drop")
    assert "telemetry stopped" in anomaly.summary


def test_resolving_a_surge_that_ended_is_final_though_its_counts_stay_in_view():
    # Resolved at T0 + 730, after the surge (T0 + 300 to T0 + 720): the quarter
    # hours judged afterwards still hold its requests; they were seen.
    seed()
    store(shop_traffic(T0 - 600, 900, rps=2.0))
    store(shop_traffic(T0 + 300, 420, rps=8.0, seed=2))
    store(shop_traffic(T0 + 720, 1080, rps=2.0, seed=5))
    run_cycles(T0 - 600, T0 + 720)
    [incident] = opened()
    resolve_as_operator(incident.public_id, T0 + 730)
    run_cycles(T0 + 720, T0 + 1800)

    [incident] = opened()
    assert (incident.status, incident.resolved_by) == ("resolved", "operator")
    assert incident.reopen_count == 0


def test_a_surge_still_on_after_a_resolve_reopens_its_incident_at_once():
    # The quarter hours judged hold requests from before the resolve; the
    # first cycle wholly after it is enough to show the surge goes on.
    seed()
    store(shop_traffic(T0 - 600, 900, rps=2.0))
    store(shop_traffic(T0 + 300, 1200, rps=8.0, seed=2))
    run_cycles(T0 - 600, T0 + 600)
    [incident] = opened()
    resolve_as_operator(incident.public_id, T0 + 610)
    run_cycles(T0 + 600, T0 + 900)

    [incident] = opened()
    assert (incident.status, incident.reopen_count) == ("open", 1)
    assert incident.kind == "traffic"
    reopened = incident.events.get(kind="reopened").at.timestamp()
    assert reopened == T0 + 660
    # Opened on one cycle's requests, and says so (not "in 0 min").
    assert " requests in 30 s (" in incident.title
