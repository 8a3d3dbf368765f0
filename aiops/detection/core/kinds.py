"""One vocabulary for what detectors find, shared by the core, the models and the API.

An anomaly type names one detector's finding. A fault kind is coarser: what an
operator would call the fault, and half of an incident's identity (the other
half is its root). Latency, a latency shift and an endpoint that stopped
answering are all "latency" (a request that never completes is the slowest
one); failed requests, and requests answered without the calls they usually
make, are "errors". An endpoint's code asking the database far more than it
needs (N+1 queries, a jump in queries per request) is "queries": neither slow
nor failing yet, and a fault of its own. Far more or far fewer requests than
this hour of the week brings (a surge, a drop) is "traffic": the load itself,
rooted where it enters.
"""

from __future__ import annotations

from enum import StrEnum


class AnomalyType(StrEnum):
    LATENCY = "latency_anomaly"
    SHIFT = "latency_shift"
    SERIES = "latency_series"
    ERRORS = "error_spike"
    SILENCE = "timeout_issue"
    CALLS = "call_change"
    N_PLUS_ONE = "n_plus_one"
    QUERY_COUNT = "query_count_up"
    TRAFFIC_SURGE = "traffic_surge"
    TRAFFIC_DROP = "traffic_drop"

    @property
    def label(self) -> str:
        return LABELS[self]

    @property
    def short(self) -> str:
        """The prototype's words in ``correlated_failures`` (``payment_errors``)."""
        return SHORT[self]

    @property
    def kind(self) -> FaultKind:
        return FAULT_KINDS.get(self, FaultKind.LATENCY)


class FaultKind(StrEnum):
    LATENCY = "latency"
    ERRORS = "errors"
    QUERIES = "queries"
    TRAFFIC = "traffic"


LABELS = {
    AnomalyType.LATENCY: "Latency anomaly",
    AnomalyType.SHIFT: "Latency shift",
    AnomalyType.SERIES: "Latency series",
    AnomalyType.ERRORS: "Error spike",
    AnomalyType.SILENCE: "Silent endpoint",
    AnomalyType.CALLS: "Calls missing",
    AnomalyType.N_PLUS_ONE: "N+1 queries",
    AnomalyType.QUERY_COUNT: "Query count up",
    AnomalyType.TRAFFIC_SURGE: "Traffic surge",
    AnomalyType.TRAFFIC_DROP: "Traffic drop",
}
SHORT = {
    AnomalyType.LATENCY: "latency",
    AnomalyType.SHIFT: "shift",
    AnomalyType.SERIES: "series",
    AnomalyType.ERRORS: "errors",
    AnomalyType.SILENCE: "timeout",
    AnomalyType.CALLS: "calls",
    AnomalyType.N_PLUS_ONE: "n_plus_one",
    AnomalyType.QUERY_COUNT: "queries",
    AnomalyType.TRAFFIC_SURGE: "surge",
    AnomalyType.TRAFFIC_DROP: "drop",
}
# Requests that fail, and requests that succeed without making the calls they
# usually make (a code fault that returns early or swallows an exception), are
# both answers that are wrong: "errors". Everything else is "latency".
FAULT_KINDS = {
    AnomalyType.ERRORS: FaultKind.ERRORS,
    AnomalyType.CALLS: FaultKind.ERRORS,
    AnomalyType.N_PLUS_ONE: FaultKind.QUERIES,
    AnomalyType.QUERY_COUNT: FaultKind.QUERIES,
    AnomalyType.TRAFFIC_SURGE: FaultKind.TRAFFIC,
    AnomalyType.TRAFFIC_DROP: FaultKind.TRAFFIC,
}
