"""Changes as causes, through ``manage.py replay``: a fault that follows a deploy
names the deploy first, with its evidence; the same fault without a change
invents none; a canary's bad version is blamed on the version; a deploy that
changes nothing opens nothing; a fault that starts long after a deploy that ran
well is not blamed on it; a configuration change recorded by a pipeline (a
change line in the replay file) is weighed like a deploy."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.detection.test_indirect_rca import T0, replayed

WARMUP = 600.0
FAULT_AT = T0 + WARMUP


class Shop:
    """shop-api POST /checkout calls payments POST /charge; both report their
    version. ``faulty(t, version, rng)`` says whether a charge at t on that version
    fails; ``slow(t, version)`` whether it takes 10 x longer."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.lines: list[str] = []

    def _id(self, bits: int) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def run(self, seconds: float, *, version, faulty=None, slow=None) -> None:
        t = T0
        while True:
            t += self.rng.expovariate(4.0)
            if t >= T0 + seconds:
                return
            serving = version(t, self.rng)
            failed = bool(faulty and faulty(t, serving, self.rng))
            charge = self.rng.lognormvariate(0, 0.2) * 40.0
            if slow and slow(t, serving):
                charge *= 10
            trace, parent = self._id(128), self._id(64)
            self._span(
                t + 0.001,
                "payments",
                "POST /charge",
                charge,
                trace,
                self._id(64),
                parent,
                failed,
                serving,
            )
            self._span(
                t,
                "shop-api",
                "POST /checkout",
                charge + 5,
                trace,
                parent,
                None,
                failed,
                "7.0",
            )

    def _span(self, t, service, endpoint, ms, trace, span, parent, failed, version):
        self.lines.append(
            json.dumps(
                {
                    "ts": round(t, 6),
                    "service": service,
                    "endpoint": endpoint,
                    "status": 500 if failed else 200,
                    "duration_ms": round(ms, 3),
                    "trace_id": trace,
                    "span_id": span,
                    "parent_span_id": parent,
                    "version": version,
                }
            )
        )


def old_then_new(at: float):
    return lambda t, rng: "1.4.2" if t >= at else "1.4.1"


def change_of(incident: dict) -> dict | None:
    return incident["root_cause"]["evidence"].get("change")


def test_a_fault_right_after_a_deploy_names_the_deploy_first(tmp_path: Path):
    shop = Shop()
    shop.run(
        WARMUP + 240,
        version=old_then_new(FAULT_AT),
        faulty=lambda t, v, rng: v == "1.4.2" and rng.random() < 0.4,
    )

    (incident,) = replayed(tmp_path, shop.lines)

    assert incident["root_cause"]["service"] == "payments"
    first = incident["root_cause"]["candidates"][0]
    assert first["service"] == "payments"
    assert first["change"]["version"] == "1.4.2"
    assert first["change"]["previous_version"] == "1.4.1"
    assert first["change"]["source"] == "spans"
    assert first["evidence"].startswith(
        "errors on payments started 1 s after payments 1.4.2 deployed; before it 0 of"
    )
    assert change_of(incident)["blamed_version"] == ""
    assert [e["event"] for e in incident["timeline"]] == ["opened", "change"]


def test_the_same_fault_without_a_change_invents_none(tmp_path: Path):
    shop = Shop()
    shop.run(
        WARMUP + 240,
        version=lambda t, rng: "1.4.1",
        faulty=lambda t, v, rng: t >= FAULT_AT and rng.random() < 0.4,
    )

    (incident,) = replayed(tmp_path, shop.lines)

    assert incident["root_cause"]["service"] == "payments"
    assert change_of(incident) is None
    assert all("change" not in c for c in incident["root_cause"]["candidates"])


@pytest.mark.parametrize("fault", ["errors", "latency"])
def test_a_canary_s_bad_version_is_blamed_on_the_version(tmp_path: Path, fault):
    # From the fault on, one charge in ten runs 1.4.2, and those fail (or take
    # ten times longer): a tenth of the traffic, under the endpoint's own bar.
    shop = Shop()
    bad = lambda t, v, *rng: v == "1.4.2"  # noqa: E731
    shop.run(
        WARMUP + 240,
        version=lambda t, rng: (
            "1.4.2" if t >= FAULT_AT and rng.random() < 0.1 else "1.4.1"
        ),
        faulty=bad if fault == "errors" else None,
        slow=bad if fault == "latency" else None,
    )

    (incident,) = replayed(tmp_path, shop.lines)

    assert (incident["root_cause"]["service"], incident["kind"]) == ("payments", fault)
    assert "on version 1.4.2" in incident["anomalies"][0]["summary"]
    verdict = change_of(incident)
    assert verdict["blamed_version"] == "1.4.2"
    first = incident["root_cause"]["candidates"][0]
    assert first["change"]["version"] == "1.4.2"
    what = "failed" if fault == "errors" else "were slow"
    assert f"requests {what} on 1.4.2, 0 of" in first["evidence"]
    assert first["evidence"].endswith(f"requests {what} on 1.4.1 in the same minutes")


def test_a_deploy_that_changes_nothing_opens_nothing(tmp_path: Path):
    shop = Shop()
    shop.run(WARMUP + 240, version=old_then_new(FAULT_AT))

    assert replayed(tmp_path, shop.lines) == []


def test_a_fault_long_after_a_good_deploy_is_not_blamed_on_it(tmp_path: Path):
    # 1.4.2 serves well for five minutes, then payments slows down.
    shop = Shop()
    shop.run(
        WARMUP + 240,
        version=old_then_new(FAULT_AT - 300),
        slow=lambda t, v: t >= FAULT_AT,
    )

    (incident,) = replayed(tmp_path, shop.lines)

    assert (incident["root_cause"]["service"], incident["kind"]) == (
        "payments",
        "latency",
    )
    assert change_of(incident) is None


def test_a_config_change_recorded_by_a_pipeline_is_weighed_like_a_deploy(
    tmp_path: Path,
):
    shop = Shop()
    shop.run(
        WARMUP + 240,
        version=lambda t, rng: "1.4.1",
        slow=lambda t, v: t >= FAULT_AT + 20,
    )
    change = {
        "change": {
            "service": "payments",
            "kind": "config",
            "note": "pool size 50 -> 5",
            "at": FAULT_AT,
        }
    }

    (incident,) = replayed(tmp_path, [*shop.lines, json.dumps(change)])

    first = incident["root_cause"]["candidates"][0]
    assert first["change"]["kind"] == "config"
    assert first["change"]["source"] == "replay"
    assert first["evidence"].startswith(
        "slow requests on payments started 20 s after payments configuration "
        "changed: pool size 50 -> 5"
    )
