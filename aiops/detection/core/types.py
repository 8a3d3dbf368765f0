from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

from aiops.detection.core.kinds import AnomalyType, FaultKind
from aiops.detection.core.seasonal import Season


class EndpointKey(NamedTuple):
    service: str
    endpoint: str

    def label(self) -> str:
        return f"{self.service}/{self.endpoint}"


class SpanRow(NamedTuple):
    """One span as the core sees it; ``start`` is epoch seconds."""

    service: str
    endpoint: str
    kind: str
    start: float
    duration_ms: float
    status_code: int | None
    is_error: bool
    trace_id: str | None
    span_id: str | None
    parent_span_id: str | None
    peer: str = ""
    # The start of a failed span's error message ("" otherwise): a caller whose
    # call was refused or timed out often names the callee there.
    error_message: str = ""
    # The version of the service that served it ("" when unknown).
    version: str = ""
    # The request's database work, where the middleware captured it: queries
    # run (None: not captured) and their time, and its most repeated statement
    # (normalised; read only when it repeated enough to matter) with its count.
    query_count: int | None = None
    query_ms: float | None = None
    top_query: str = ""
    top_query_count: int = 0
    # Started before the previous cycle but became visible only since then (a
    # long request, an exporter's retry, a clock behind): judged and learned now.
    late: bool = False

    @property
    def key(self) -> EndpointKey:
        return EndpointKey(self.service, self.endpoint)


@dataclass
class Baseline:
    """What normal looks like for one endpoint, learned from healthy periods only.

    Latency is learned in log space (service times are roughly log-normal), so
    ``log_level`` is the log of the typical latency and ``log_spread`` the typical
    distance of one request's log latency from it.
    """

    key: EndpointKey
    log_level: float = 0.0
    # The same, learned about ten times more slowly: what "normal" was an hour
    # ago. A creeping slowdown drags the fast level along; it cannot drag this.
    log_anchor: float | None = None
    log_spread: float = 0.0
    tail_fraction: float = 0.0  # share of healthy requests above the latency threshold
    error_rate: float = 0.0
    request_rate: float = 0.0  # per second
    self_time_ms: float | None = None
    sample_count: int = 0
    # In how many distinct seconds those requests arrived. Requests of one
    # second share its pauses and bursts: a baseline learned from a burst of
    # two hundred requests in three seconds has seen three moments, and cannot
    # yet know how often a moment is slow.
    moment_count: int = 0
    # Long-run statistics of the per-cycle median latency (ms), and the medians of
    # the last few cycles, for the latency-shift detector.
    cycle_mean: float = 0.0
    cycle_var: float = 0.0
    cycle_count: int = 0
    recent_medians: list[float] = field(default_factory=list)
    # How many requests each of those medians came from, and the usual variance
    # of single requests within a cycle: a median of two requests is not as sure
    # as a median of two hundred.
    recent_counts: list[int] = field(default_factory=list)
    within_var: float = 0.0
    # Cycles that held at least ``min_window_samples`` requests. An endpoint
    # that has them learns the spread of its cycle medians from them alone, and
    # its medians of a handful of requests are left to the latency detector; one
    # that never has them (a probe, a gauge, a scheduled job) is a series of
    # single values, learned and judged as such.
    busy_cycles: int = 0
    # Typical queries per request (the median of a cycle's captured requests,
    # learned like the rest), and how many captured requests it learned from.
    query_level: float | None = None
    query_samples: int = 0
    # The series detector's state while the endpoint has never been busy
    # (``aiops.detection.core.detectors.series``): plain JSON.
    series: dict = field(default_factory=dict)
    learned_at: float | None = None  # epoch seconds of the last update
    last_seen: float | None = None  # start of the newest span seen
    # Per signal ("latency", "errors", "traffic"): epoch since when it has been
    # continuously suspicious; learning of that signal pauses meanwhile.
    suspicious_since: dict[str, float] = field(default_factory=dict)
    is_new: bool = False
    # What this time of day usually adds to (or takes from) the latency; read
    # each cycle from the endpoint's seasonal history, never stored here.
    season: Season | None = None

    def knows_enough(self, min_samples: int) -> bool:
        """Learned enough to judge by: ``min_samples`` requests, from at least as
        many distinct seconds. A hundred requests from five seconds share those
        seconds' state (a pause, a burst, a warm cache): their median is not yet
        the endpoint's, and what is slow against it says little."""
        return self.sample_count >= min_samples and self.moment_count >= min_samples

    @property
    def level_ms(self) -> float:
        return math.exp(self.log_level)

    @property
    def reference_ms(self) -> float:
        """The latency to compare against: the lower of the two levels (without
        the time of day; see ``reference_at``)."""
        anchor = self.log_anchor if self.log_anchor is not None else self.log_level
        return math.exp(min(self.log_level, anchor))

    def season_offset(self, epoch: float) -> float:
        """Log factor the time of day adds to the latency expected at ``epoch``."""
        return self.season.offset_at(epoch) if self.season is not None else 0.0

    def reference_at(self, epoch: float) -> float:
        """The reference for a request that started at ``epoch``."""
        return self.reference_ms * math.exp(self.season_offset(epoch))


@dataclass(frozen=True)
class Finding:
    """One anomaly of one endpoint in one cycle."""

    key: EndpointKey
    type: AnomalyType
    observed: float
    expected: float
    sample_count: int
    severity: str
    summary: str
    window_start: float
    window_end: float
    # Spans that show the anomaly (slow or failed), for RCA and evidence.
    bad_span_ids: tuple[str, ...] = ()
    example_trace_ids: tuple[str, ...] = ()
    detail: dict = field(default_factory=dict)
    # False when only the relaxed keep-alive criteria held: such a finding keeps an
    # open incident alive but never opens one.
    opens_incident: bool = True
    # When its first bad span started (epoch seconds), where the detector knows.
    onset: float | None = None

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected else 0.0

    @property
    def kind(self) -> FaultKind:
        return self.type.kind


@dataclass(frozen=True)
class CallEdge:
    """A learned call: ``caller`` calls ``callee``, through a CLIENT span named
    ``client_endpoint`` aimed at ``peer`` when the caller records client spans."""

    caller: EndpointKey
    callee: EndpointKey
    client_endpoint: str = ""
    peer: str = ""
    # Typical start of the call after the caller's start: the call order.
    offset_ms: float | None = None
    # Typical CLIENT minus SERVER duration of the call: the network between them.
    gap_ms: float | None = None
    # Recent calls per second (all callers' requests of ``caller`` together).
    call_rate: float | None = None
    # Calls per successful request of ``caller``, learned from cycles whose
    # calls looked usual (``missing_calls``): the quotient of the usual calls
    # and requests per cycle.
    calls_per_request: float | None = None


@dataclass(frozen=True)
class Candidate:
    key: EndpointKey
    score: float


@dataclass
class Group:
    """Findings explained by one root cause: becomes (or updates) one incident."""

    root: EndpointKey
    candidates: list[Candidate]
    confidence: float
    findings: list[Finding]
    evidence: dict
    kind: FaultKind = FaultKind.LATENCY

    @property
    def fingerprint(self) -> str:
        """What an incident is: one root and one kind of fault."""
        return f"{self.root.label()}#{self.kind}"

    @property
    def affected(self) -> list[EndpointKey]:
        keys = {self.root, *(f.key for f in self.findings)}
        return sorted(keys, key=lambda k: (k != self.root, k))

    @property
    def opens_incident(self) -> bool:
        return any(f.opens_incident for f in self.findings)
