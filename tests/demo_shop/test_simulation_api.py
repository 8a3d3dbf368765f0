from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from demo_shop.models import Fault

pytestmark = pytest.mark.django_db


def faults() -> dict[str, tuple[int, float]]:
    return {f.endpoint: (f.delay_ms, f.error_rate) for f in Fault.objects.all()}


def test_delay_accepts_both_endpoint_spellings(staff_client):
    first = staff_client.post("/simulate/delay?endpoint=payment&duration=2000")
    second = staff_client.post("/simulate/delay?endpoint=/inventory&duration=150")

    assert first.status_code == 200
    assert first.json() == {"endpoint": "payment", "delay_ms": 2000, "error_rate": 0.0}
    assert second.json()["endpoint"] == "inventory"
    assert faults() == {"payment": (2000, 0.0), "inventory": (150, 0.0)}


def test_error_rate_and_status(staff_client, user_client):
    staff_client.post("/simulate/error?endpoint=inventory&rate=0.5")

    status = user_client.get("/simulate/status")

    assert status.status_code == 200
    assert status.json()["faults"] == [
        {"endpoint": "inventory", "delay_ms": 0, "error_rate": 0.5}
    ]
    assert "payment" in status.json()["endpoints"]


def test_parameters_may_come_in_a_json_body(staff_client):
    response = staff_client.post(
        "/simulate/error", {"endpoint": "payment", "rate": 1}, format="json"
    )

    assert response.status_code == 200
    assert faults() == {"payment": (0, 1.0)}


def test_clear_one_endpoint_or_all(staff_client):
    staff_client.post("/simulate/delay?endpoint=payment&duration=100")
    staff_client.post("/simulate/error?endpoint=inventory&rate=0.2")

    one = staff_client.post("/simulate/clear?endpoint=/payment")
    assert one.json()["cleared"] == ["payment"]
    assert faults() == {"inventory": (0, 0.2)}

    every = staff_client.post("/simulate/clear")
    assert every.json() == {
        "cleared": ["inventory"],
        "faults": [],
        "endpoints": ["checkout", "health", "inventory", "payment"],
    }
    assert faults() == {}


BAD_INPUT = [
    ("/simulate/delay?endpoint=shipping&duration=100", "endpoint", "payment"),
    ("/simulate/delay?endpoint=&duration=100", "endpoint", "blank"),
    ("/simulate/delay?duration=100", "endpoint", "required"),
    ("/simulate/delay?endpoint=payment", "duration", "required"),
    ("/simulate/delay?endpoint=payment&duration=abc", "duration", "number"),
    ("/simulate/delay?endpoint=payment&duration=-5", "duration", "0 to 30000"),
    ("/simulate/delay?endpoint=payment&duration=nan", "duration", "finite"),
    ("/simulate/delay?endpoint=payment&duration=inf", "duration", "finite"),
    ("/simulate/delay?endpoint=payment&duration=30001", "duration", "0 to 30000"),
    ("/simulate/delay?endpoint=payment&duration=12.5", "duration", "whole number"),
    ("/simulate/error?endpoint=inventory&rate=1.5", "rate", "between 0 and 1"),
    ("/simulate/error?endpoint=inventory&rate=-0.1", "rate", "between 0 and 1"),
    ("/simulate/error?endpoint=inventory&rate=NaN", "rate", "finite"),
    ("/simulate/error?endpoint=inventory&rate=half", "rate", "number"),
    ("/simulate/error?endpoint=inventory", "rate", "required"),
    ("/simulate/clear?endpoint=/nope", "endpoint", "allowed"),
]


@pytest.mark.parametrize(("url", "field", "hint"), BAD_INPUT)
def test_bad_input_is_a_400_naming_the_parameter_and_changes_nothing(
    staff_client, url, field, hint
):
    staff_client.post("/simulate/error?endpoint=payment&rate=0.25")
    before = faults()

    response = staff_client.post(url)

    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field]
    assert hint in " ".join(body[field])
    assert faults() == before


@pytest.mark.parametrize(
    "url",
    [
        "/simulate/delay?endpoint=payment&duration=100",
        "/simulate/error?endpoint=payment&rate=1",
        "/simulate/clear",
    ],
)
def test_writes_need_staff(url, user_client):
    anonymous = APIClient().post(url)
    not_staff = user_client.post(url)

    assert anonymous.status_code == 401
    assert not_staff.status_code == 403
    assert faults() == {}


def test_status_needs_a_login():
    assert APIClient().get("/simulate/status").status_code == 401


def test_session_login_with_csrf_works_for_staff(db):
    from tests.conftest import make_user

    make_user("operator", staff=True)
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="operator", password="correct horse battery")

    without_token = client.post("/simulate/delay?endpoint=payment&duration=10")
    assert without_token.status_code == 403
    assert faults() == {}
