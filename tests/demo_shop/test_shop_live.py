"""The demo shop over real HTTP: checkout calls payment and inventory on the live
server, propagating the trace, and injected faults really change what happens."""

from __future__ import annotations

import json

import pytest
import urllib3

from aiops.telemetry.models import Span
from tests.conftest import make_user, token_client
from tests.helpers import wait_for

http = urllib3.PoolManager(retries=False)


def post(url: str, **kwargs) -> tuple[int, dict]:
    response = http.request("POST", url, timeout=10, **kwargs)
    return response.status, json.loads(response.data)


def spans_by_endpoint(trace_id: str) -> dict[str, Span]:
    """Server spans by endpoint and CLIENT spans by name ("POST /payment")."""
    spans = Span.objects.filter(trace_id=trace_id)
    return {span.endpoint: span for span in spans}


@pytest.fixture
def staff(db):
    return token_client(make_user("operator", staff=True))


def test_checkout_calls_payment_then_inventory_as_children(live_server):
    status, body = post(f"{live_server.url}/checkout")

    assert status == 200, body
    assert body["status"] == "completed"
    spans = spans_by_endpoint(body["trace_id"])
    assert set(spans) == {
        "checkout",
        "payment",
        "inventory",
        "POST /payment",
        "GET /inventory",
    }
    checkout = spans["checkout"]
    assert checkout.parent_span_id is None
    # checkout -> CLIENT span of the call -> the callee's SERVER span.
    for call, callee in (("POST /payment", "payment"), ("GET /inventory", "inventory")):
        assert spans[call].kind == "client"
        assert spans[call].parent_span_id == checkout.span_id
        assert spans[callee].parent_span_id == spans[call].span_id
        assert spans[call].duration_ms >= spans[callee].duration_ms
        assert spans[call].peer == live_server.url.split("//")[1]
    assert spans["payment"].method == "POST" and spans["inventory"].method == "GET"
    # The children ran inside the checkout, one after the other.
    assert spans["payment"].start_time < spans["inventory"].start_time
    assert (
        checkout.duration_ms
        > spans["payment"].duration_ms + spans["inventory"].duration_ms
    )
    assert spans["payment"].duration_ms >= 50


def test_incoming_trace_is_continued_through_checkout(live_server):
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"

    status, body = post(
        f"{live_server.url}/checkout",
        headers={"traceparent": f"00-{trace_id}-{parent}-01"},
    )

    assert status == 200
    assert body["trace_id"] == trace_id
    spans = spans_by_endpoint(trace_id)
    assert spans["checkout"].parent_span_id == parent
    assert spans["POST /payment"].parent_span_id == spans["checkout"].span_id


def test_injected_delay_slows_the_target_and_clear_undoes_it(live_server, staff):
    response = staff.post("/simulate/delay?endpoint=payment&duration=400")
    assert response.status_code == 200, response.content

    _, slow = post(f"{live_server.url}/checkout")
    staff.post("/simulate/clear?endpoint=payment")
    _, fast = post(f"{live_server.url}/checkout")

    slow_payment = spans_by_endpoint(slow["trace_id"])["payment"]
    fast_payment = spans_by_endpoint(fast["trace_id"])["payment"]
    assert slow_payment.duration_ms >= 400
    assert fast_payment.duration_ms < 400
    assert spans_by_endpoint(slow["trace_id"])["inventory"].duration_ms < 400


def test_injected_errors_fail_the_target_and_checkout_names_it(live_server, staff):
    staff.post("/simulate/error?endpoint=/inventory&rate=1.0")

    status, body = post(f"{live_server.url}/checkout")

    assert status == 502
    assert body["failed_call"] == "inventory"
    assert body["downstream_status"] == 500
    spans = spans_by_endpoint(body["trace_id"])
    assert spans["inventory"].status_code == 500 and spans["inventory"].is_error
    assert spans["inventory"].error_type == "InjectedFault"
    assert spans["checkout"].status_code == 502 and spans["checkout"].is_error
    assert spans["payment"].status_code == 200 and not spans["payment"].is_error

    staff.post("/simulate/clear")
    status, body = post(f"{live_server.url}/checkout")
    assert status == 200


def test_downstream_timeout_is_a_502_naming_the_call(live_server, staff, settings):
    settings.AIOPS_DEMO_TIMEOUT = 0.3
    staff.post("/simulate/delay?endpoint=payment&duration=1500")

    status, body = post(f"{live_server.url}/checkout")

    assert status == 502
    assert body["failed_call"] == "payment"
    assert "timed out" in body["error"]
    checkout = spans_by_endpoint(body["trace_id"])["checkout"]
    assert checkout.error_type == "DownstreamError"
    assert 300 <= checkout.duration_ms < 1500
    call = spans_by_endpoint(body["trace_id"])["POST /payment"]
    assert call.is_error and call.status_code is None
    assert call.error_type == "DownstreamError"
    # The abandoned payment call is still sleeping in a server thread; wait for its
    # span so it cannot land in the next test's database.
    wait_for(lambda: "payment" in spans_by_endpoint(body["trace_id"]))


def test_checkout_ignores_the_host_header(live_server, settings):
    # A client naming another port in Host must not aim the shop's calls there.
    status, body = post(f"{live_server.url}/checkout", headers={"Host": "127.0.0.1:9"})

    assert status == 200, body
    spans = spans_by_endpoint(body["trace_id"])
    assert spans["POST /payment"].peer == live_server.url.split("//")[1]
