"""An operator's transaction and an analysis cycle on two connections.

The operator's resolve (or acknowledge) is made and held uncommitted on one
connection while a cycle runs on another; the cycle must wait for it and then
change only the fields it owns, so neither side's work is lost.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from aiops.detection.actions import incident_acknowledge, incident_resolve
from aiops.detection.models import Incident
from tests.detection.traffic import T0, Fault
from tests.helpers import wait_for
from tests.scenarios.timeline import Timeline, incidents, moment

pytestmark = pytest.mark.django_db(transaction=True)

FAULT = T0 + 600


def _open_incident(tl: Timeline) -> Incident:
    tl.shop(T0, 600)
    tl.shop(FAULT, 60, fault=Fault(inventory_error_rate=0.8))
    tl.shop(FAULT + 60, 300)
    tl.cycles(T0, FAULT + 60)
    return Incident.objects.get()


def _cycle_blocked() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite: the cycle's IMMEDIATE transaction waits its turn
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def _race(tl: Timeline, act, cycle_at: float) -> None:
    """``act`` commits only once the cycle at ``cycle_at`` is waiting on it."""
    acted, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def operator():
        try:
            with transaction.atomic():
                act()
                acted.set()
                release.wait(30)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            acted.set()
        finally:
            connections.close_all()

    def cycle():
        try:
            tl.cycle(cycle_at)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    first = threading.Thread(target=operator)
    first.start()
    assert acted.wait(30)
    second = threading.Thread(target=cycle)
    second.start()
    wait_for(_cycle_blocked, timeout=30)
    release.set()
    first.join(60)
    second.join(60)
    assert not errors, errors


def test_a_resolve_committed_during_a_cycle_is_not_undone():
    tl = Timeline()
    incident = _open_incident(tl)

    _race(
        tl,
        lambda: incident_resolve(incident=incident, by="alice", now=moment(FAULT + 73)),
        cycle_at=FAULT + 90,
    )

    (after,) = incidents()
    assert after["status"] == "resolved"
    assert after["resolved_by"] == "alice"


def test_an_acknowledge_committed_during_a_cycle_keeps_both_changes():
    tl = Timeline()
    incident = _open_incident(tl)

    _race(
        tl,
        lambda: incident_acknowledge(
            incident=incident, by="alice", note="on it", now=moment(FAULT + 65)
        ),
        cycle_at=FAULT + 90,
    )

    (after,) = incidents()
    assert after["status"] == "acknowledged"
    assert after["acknowledged_by"] == "alice"
    assert after["acknowledgment_note"] == "on it"
    # The cycle's own update (its evidence was still in the window) landed too.
    assert after["last_seen"] == moment(FAULT + 90).isoformat()
