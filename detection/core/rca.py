"""Root-cause analysis: follow each bad span down its call tree to where the
problem started, then group findings that lead to the same place.

Never completion-time order (DESIGN.md, "Known traps"). A failed span's origin is
its deepest failed call; a slow span's origin is where the excess time was spent:
follow the call whose excess over its own baseline explains most of the caller's,
stop where the span's self time (duration minus time in calls) rose. A caller that
timed out waiting for a slow callee is blamed on the callee. A CLIENT span with no
server span under it is a call that never got an answer: it is blamed on the
callee learned from earlier traces (or on the peer it named). Findings without
trace links fall back to the learned call graph.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from detection.core.kinds import AnomalyType, FaultKind
from detection.core.types import (
    Baseline,
    CallEdge,
    Candidate,
    EndpointKey,
    Finding,
    Group,
    SpanRow,
)
from detection.core.window import ENDPOINT_KINDS, TraceIndex

MAX_SPANS_PER_FINDING = 200
MAX_CANDIDATES = 5
# A call must account for at least this share of a slow span's excess time to be
# followed; below it the time was spent in the span itself.
FOLLOW_SHARE = 0.5
NETWORK = "network"


def network_key(caller_service: str, callee_service: str) -> EndpointKey:
    """The pseudo-endpoint naming the network between two services."""
    return EndpointKey(NETWORK, f"{caller_service} -> {callee_service}")


@dataclass(frozen=True)
class _Call:
    """One outgoing call of a span: the callee's span, or a dangling CLIENT span."""

    target: SpanRow | None
    client: SpanRow | None


class CallGraph:
    """The learned edges, indexed for the questions RCA asks."""

    def __init__(self, edges: list[CallEdge]) -> None:
        self.callees: dict[EndpointKey, set[EndpointKey]] = defaultdict(set)
        self.callers: dict[EndpointKey, set[EndpointKey]] = defaultdict(set)
        self.by_client: dict[tuple[EndpointKey, str, str], EndpointKey] = {}
        self.offset: dict[tuple[EndpointKey, EndpointKey], float] = {}
        self.gap: dict[tuple[EndpointKey, EndpointKey], float] = {}
        # Calls the caller records CLIENT spans for: had it made such a call and
        # failed, its trace would show it.
        self.traced: set[tuple[EndpointKey, EndpointKey]] = set()
        for edge in edges:
            if edge.offset_ms is not None:
                self.offset[(edge.caller, edge.callee)] = edge.offset_ms
            if edge.gap_ms is not None:
                self.gap[(edge.caller, edge.callee)] = edge.gap_ms
            self.callees[edge.caller].add(edge.callee)
            self.callers[edge.callee].add(edge.caller)
            if edge.client_endpoint:
                signature = (edge.caller, edge.client_endpoint, edge.peer)
                self.by_client[signature] = edge.callee
                self.traced.add((edge.caller, edge.callee))

    def callee_of(self, caller: EndpointKey, client: SpanRow) -> EndpointKey:
        """Who a CLIENT span was calling; the peer itself if never seen answering."""
        known = self.by_client.get((caller, client.endpoint, client.peer))
        if known is not None:
            return known
        return EndpointKey(client.peer or client.service, client.endpoint)


class _Walker:
    def __init__(
        self,
        index: TraceIndex,
        baselines: dict[EndpointKey, Baseline],
        graph: CallGraph,
    ) -> None:
        self.index = index
        self.baselines = baselines
        self.graph = graph
        self.depth: dict[EndpointKey, int] = {}
        # Roots blamed because calls to them got no answer: they stopped answering.
        self.unanswered: set[EndpointKey] = set()
        # Excess time between CLIENT and SERVER spans, per network pseudo-endpoint.
        self.network_gaps: dict[EndpointKey, list[float]] = {}

    def expected(self, key: EndpointKey) -> float | None:
        baseline = self.baselines.get(key)
        if baseline is None or baseline.sample_count == 0:
            return None
        return baseline.level_ms

    def _excess(self, span: SpanRow, key: EndpointKey | None = None) -> float:
        expected = self.expected(key or span.key)
        return 0.0 if expected is None else span.duration_ms - expected

    def _self_excess(self, span: SpanRow) -> float:
        own = self.index.self_time(span)
        if own is None:
            return self._excess(span)
        baseline = self.baselines.get(span.key)
        if baseline is None or baseline.self_time_ms is None:
            return 0.0
        return own - baseline.self_time_ms

    def calls(self, span: SpanRow) -> list[_Call]:
        result: list[_Call] = []
        for child in self.index.children_of(span):
            if child.kind in ENDPOINT_KINDS:
                result.append(_Call(child, None))
            elif child.kind == "client":
                targets = [
                    g for g in self.index.children_of(child) if g.kind in ENDPOINT_KINDS
                ]
                result.extend(_Call(t, child) for t in targets)
                if not targets:
                    result.append(_Call(None, child))
            else:  # internal work inside the same endpoint: look through it
                result.extend(self.calls(child))
        return result

    def _call_failed(self, call: _Call) -> bool:
        return call.target.is_error if call.target else call.client.is_error

    def _gap_excess(self, caller: SpanRow, call: _Call) -> float:
        """Time between the CLIENT span and the callee's SERVER span beyond the usual:
        the network (or a proxy, or a queue) between them."""
        if call.target is None or call.client is None:
            return 0.0
        usual = self.graph.gap.get((caller.key, call.target.key))
        if usual is None:
            return 0.0
        return call.client.duration_ms - call.target.duration_ms - usual

    def _call_excess(self, caller: SpanRow, call: _Call) -> float:
        if call.target is not None:
            return self._excess(call.target) + max(self._gap_excess(caller, call), 0.0)
        return self._excess(call.client, self.graph.callee_of(caller.key, call.client))

    def origin(self, span: SpanRow, failed: bool) -> tuple[EndpointKey, SpanRow]:
        """The endpoint where the problem of ``span`` started, and the span that
        shows it (the callee's span, or the CLIENT span that got no answer)."""
        node, depth = span, 0
        while True:
            calls = self.calls(node)
            if not calls:
                break
            chosen = None
            if failed:
                broken = [c for c in calls if self._call_failed(c)]
                if broken:
                    chosen = broken[0]
            if chosen is None:
                slowest = max(calls, key=lambda c: self._call_excess(node, c))
                call_excess = self._call_excess(node, slowest)
                total = max(self._excess(node), call_excess)
                if call_excess > 0 and call_excess >= max(
                    self._self_excess(node), FOLLOW_SHARE * total
                ):
                    chosen = slowest
            if chosen is None:
                break
            depth += 1
            if chosen.target is None:
                # Nobody answered: the callee is to blame, whatever its own spans say.
                key = self.graph.callee_of(node.key, chosen.client)
                self.depth[key] = max(self.depth.get(key, 0), depth)
                self.unanswered.add(key)
                return key, chosen.client
            gap = self._gap_excess(node, chosen)
            if (
                not failed
                and gap > 0
                and gap
                >= max(
                    self._excess(chosen.target),
                    FOLLOW_SHARE * self._call_excess(node, chosen),
                )
            ):
                # The callee answered as fast as ever; the time went between them.
                key = network_key(node.service, chosen.target.service)
                self.depth[key] = max(self.depth.get(key, 0), depth)
                self.network_gaps.setdefault(key, []).append(gap)
                return key, chosen.client
            node = chosen.target
        self.depth[node.key] = max(self.depth.get(node.key, 0), depth)
        return node.key, node


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, item):
        self.parent.setdefault(item, item)
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a, b) -> None:
        self.parent[self.find(a)] = self.find(b)


@dataclass
class _Explained:
    finding: Finding
    votes: Counter
    method: str  # trace | dependency | self | symptom
    examples: list[SpanRow]


def _is_drop(finding: Finding) -> bool:
    return finding.detail.get("direction") == "down"


def _node(finding: Finding) -> tuple:
    return ("finding", finding.key, finding.type)


def _trace_votes(finding: Finding, walker: _Walker) -> _Explained:
    votes: Counter[EndpointKey] = Counter()
    examples: list[SpanRow] = []
    for span_id in finding.bad_span_ids[:MAX_SPANS_PER_FINDING]:
        span = walker.index.by_id.get(span_id)
        if span is None:
            continue
        key, shown = walker.origin(span, failed=finding.type == AnomalyType.ERRORS)
        votes[key] += 1
        if len(examples) < 5:
            examples.append(shown)
    return _Explained(finding, votes, "trace" if votes else "self", examples)


def build_groups(
    findings: list[Finding],
    spans: list[SpanRow],
    baselines: dict[EndpointKey, Baseline],
    edges: list[CallEdge],
) -> list[Group]:
    if not findings:
        return []
    graph = CallGraph(edges)
    walker = _Walker(TraceIndex(spans), baselines, graph)
    by_key: dict[EndpointKey, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_key[finding.key].append(finding)

    explained: list[_Explained] = []
    for finding in findings:
        if finding.type == AnomalyType.SILENCE or _is_drop(finding):
            explained.append(_Explained(finding, Counter({finding.key: 1}), "self", []))
            continue
        item = _trace_votes(finding, walker)
        if not item.votes:
            item.votes[finding.key] = 1
        top, _ = item.votes.most_common(1)[0]
        if top == finding.key:
            # Nothing deeper in its traces: a callee that went silent or broke
            # without leaving spans can still explain it, through the call graph.
            # Calls run in order, and a failing call stops the ones after it: the
            # first troubled callee is the suspect.
            # Only callees whose calls leave no CLIENT span: where the caller
            # traces its calls, a failed call would be in the trace, so a
            # troubled callee it did not even call is a symptom, not the cause.
            suspects = sorted(
                (
                    k
                    for k in graph.callees.get(finding.key, ())
                    if k in by_key and k != top and (finding.key, k) not in graph.traced
                ),
                key=lambda k: (graph.offset.get((finding.key, k), float("inf")), k),
            )
            if suspects:
                item.votes[suspects[0]] += item.votes.pop(top)
                item.method = "dependency"
        explained.append(item)

    # A silent endpoint whose callers are failing for another reason is a symptom:
    # nobody called it. It joins their incident and proposes no root of its own.
    voted_for = {
        key
        for item in explained
        if item.finding.type != AnomalyType.SILENCE
        for key in item.votes
    }
    for item in explained:
        finding = item.finding
        if finding.type != AnomalyType.SILENCE or finding.key in voted_for:
            continue
        callers = [k for k in graph.callers.get(finding.key, ()) if k in by_key]
        if callers:
            item.votes = Counter()
            item.method = "symptom"

    groups_of = _UnionFind()
    for item in explained:
        node = _node(item.finding)
        groups_of.find(node)
        if _is_drop(item.finding):
            # Faster than usual is a side effect of whatever else this endpoint
            # shows (failing fast, skipping work): it joins those findings.
            for other in by_key[item.finding.key]:
                groups_of.union(node, _node(other))
        total = sum(item.votes.values())
        top = max(item.votes.items(), key=lambda kv: (kv[1], kv[0]), default=None)
        for key, count in item.votes.items():
            # A finding joins the root most of its evidence leads to. A second
            # root with a fault of its own is another fault (two callees failing
            # under one caller are two incidents); one without findings of its
            # own (a callee that left no spans) is only seen through this one.
            alone = key not in by_key
            if key == top[0] or (alone and count / total >= 0.2):
                groups_of.union(node, ("endpoint", key))
        if item.method == "symptom":
            for caller in graph.callers.get(item.finding.key, ()):
                for other in by_key.get(caller, []):
                    groups_of.union(node, _node(other))

    members: dict = defaultdict(list)
    for item in explained:
        members[groups_of.find(_node(item.finding))].append(item)
    groups = []
    for items in members.values():
        groups.extend(_by_kind(_group(items, walker), walker))
    return groups


def _by_kind(group: Group, walker: _Walker) -> list[Group]:
    """One group per kind of fault at its root: an incident is one root *and* one
    kind. The root's own findings say which kinds; symptoms elsewhere join the
    group of their own kind, else the root's gravest (errors before latency). A
    root without findings of its own is a callee that stopped answering (latency:
    no answer is the slowest one) or takes the kind most of its symptoms show."""
    own = [f for f in group.findings if f.key == group.root]
    kinds = sorted({f.kind for f in own}, key=lambda k: k != FaultKind.ERRORS)
    if not kinds:
        if group.root in walker.unanswered:
            kinds = [FaultKind.LATENCY]
        else:
            counts = Counter(f.kind for f in group.findings)
            kinds = [max(counts, key=lambda k: (counts[k], k == FaultKind.ERRORS))]
    if len(kinds) == 1:
        return [replace(group, kind=kinds[0])]
    parts = {kind: [] for kind in kinds}
    for finding in group.findings:
        parts[finding.kind if finding.kind in parts else kinds[0]].append(finding)
    return [replace(group, kind=kind, findings=found) for kind, found in parts.items()]


def _group(items: list[_Explained], walker: _Walker) -> Group:
    votes: Counter[EndpointKey] = Counter()
    for item in items:
        total = sum(item.votes.values())
        for key, count in item.votes.items():
            votes[key] += count / total  # each finding has one vote to share
    if not votes:  # only symptoms (their cause is in another group this cycle)
        for item in items:
            votes[item.finding.key] += 1
    total = sum(votes.values())
    ranked = sorted(
        votes.items(),
        key=lambda kv: (-round(kv[1], 6), -walker.depth.get(kv[0], 0), kv[0]),
    )
    candidates = [Candidate(key, round(score / total, 4)) for key, score in ranked]
    explaining = [i for i in items if i.method != "symptom"] or items
    linked = sum(1 for i in explaining if i.method != "self") / len(explaining)
    confidence = candidates[0].score * (0.5 + 0.5 * linked)
    examples = [span for item in items for span in item.examples]
    root = candidates[0].key
    evidence = {
        "method": "+".join(sorted({i.method for i in items})),
        "votes": {key.label(): round(score, 3) for key, score in ranked},
        "example_spans": [_describe_span(span, walker) for span in examples[:5]],
    }
    if root in walker.network_gaps:
        gaps = sorted(walker.network_gaps[root])
        evidence["network_extra_ms"] = round(gaps[len(gaps) // 2], 3)
    return Group(
        root=candidates[0].key,
        candidates=candidates[:MAX_CANDIDATES],
        confidence=round(min(confidence, 1.0), 3),
        findings=[item.finding for item in items],
        evidence=evidence,
    )


def _describe_span(span: SpanRow, walker: _Walker) -> dict:
    own = walker.index.self_time(span)
    expected = walker.expected(span.key)
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "service": span.service,
        "endpoint": span.endpoint,
        "duration_ms": round(span.duration_ms, 3),
        "self_time_ms": None if own is None else round(own, 3),
        "expected_ms": None if expected is None else round(expected, 3),
        "status": span.status_code,
        "error": span.is_error,
    }
