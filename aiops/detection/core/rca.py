"""Root-cause analysis: follow each bad span down its call tree to where the
problem started, then group findings that lead to the same place.

Never completion-time order (DESIGN.md, "Known traps"). A failed span's origin is
its deepest failed call; a slow span's origin is where the excess time was spent:
follow the call whose excess over its own baseline explains most of the caller's,
stop where the span's self time (duration minus time in calls) rose. A caller that
timed out waiting for a slow callee is blamed on the callee. A CLIENT span with no
server span under it is a call that never got an answer: it is blamed on the
callee learned from earlier traces (or on the peer it named), and so is a failed
span without a failed call whose error message names a learned callee it could
not reach. Findings without trace links fall back to the learned call graph.

Then the cycle's evidence as a whole: a slow hop between two services is blamed
on the side whose other links are slow too (``_blame_hops``), and latency rooted
at several endpoints of one service is one service-wide root (``_service_wide``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from aiops.detection.core.kinds import AnomalyType, FaultKind
from aiops.detection.core.types import (
    Baseline,
    CallEdge,
    Candidate,
    EndpointKey,
    Finding,
    Group,
    SpanRow,
)
from aiops.detection.core.window import ENDPOINT_KINDS, TraceIndex, call_timer, is_hop

MAX_SPANS_PER_FINDING = 200
MAX_CANDIDATES = 5
# A call must account for at least this share of a slow span's excess time to be
# followed; below it the time was spent in the span itself.
FOLLOW_SHARE = 0.5
NETWORK = "network"
# A link between two services is slow in a cycle when its calls' median time
# beyond the callee's own time exceeds the usual gap by this many times the usual
# gap (at least 1 ms), judged on at least this many calls.
HOP_SLOW_RATIO = 3.0
HOP_MIN_CALLS = 3
# The endpoint name of a service-level root: several endpoints of one service
# slowed down together (CPU starvation, a noisy neighbour, a slow host).
SERVICE_WIDE = "*"
# Words of a failure to get an answer at all (Python, requests, gRPC, Go, Java),
# as opposed to an answer that said "error".
NO_ANSWER_WORDS = (
    "refused",
    "timed out",
    "timeout",
    "deadline",
    "unreachable",
    "unavailable",
    "connection reset",
    "connecterror",
    "connectionerror",
    "failed to connect",
    "no route to host",
    "name resolution",
    "name or service not known",
)


def network_key(caller_service: str, callee_service: str) -> EndpointKey:
    """The pseudo-endpoint naming the network between two services."""
    return EndpointKey(NETWORK, f"{caller_service} -> {callee_service}")


def _names(text: str, word: str) -> bool:
    """``word`` occurs in ``text`` as a whole name (not inside a longer one)."""
    start = text.find(word)
    while start != -1:
        end = start + len(word)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before in "_-") and not (
            after.isalnum() or after in "_-"
        ):
            return True
        start = text.find(word, start + 1)
    return False


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

    def named_callee(
        self, caller: EndpointKey, message: str, answered: set[EndpointKey]
    ) -> EndpointKey | None:
        """The learned callee of ``caller`` that a failure message names (its
        service, as a host or a word), among those that did not answer in this
        trace. A caller without CLIENT spans that failed to reach a callee often
        says which one it was ("payment:8080: Connection refused")."""
        text = message.lower()
        if not any(word in text for word in NO_ANSWER_WORDS):
            return None
        named = [
            k
            for k in self.callees.get(caller, ())
            if k not in answered
            and k.service != caller.service
            and _names(text, k.service.lower())
        ]
        if not named:
            return None
        # Several endpoints of the named service: the one whose route is named too,
        # else the first one called.
        return min(
            named,
            key=lambda k: (
                k.endpoint.lower() not in text,
                self.offset.get((caller, k), float("inf")),
                k,
            ),
        )

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
        # Excess time between CLIENT and SERVER spans, per network pseudo-endpoint,
        # and the (calling, called) endpoints of those slow hops.
        self.network_gaps: dict[EndpointKey, list[float]] = {}
        self.network_ends: dict[EndpointKey, Counter] = {}
        # When the slow hops found by walking started.
        self.hop_starts: list[float] = []
        # Endpoints blamed for slow hops, and those hops' network pseudo-roots.
        self.hop_blame: dict[EndpointKey, tuple[EndpointKey, ...]] = {}

    def expected(self, key: EndpointKey) -> float | None:
        baseline = self.baselines.get(key)
        if baseline is None or baseline.sample_count == 0:
            return None
        return baseline.level_ms

    def _excess(self, span: SpanRow, key: EndpointKey | None = None) -> float:
        expected = self.expected(key or span.key)
        return 0.0 if expected is None else span.duration_ms - expected

    def _is_hop(self, span: SpanRow) -> bool:
        children = self.index.children_of(span)
        return len(children) == 1 and is_hop(span, children[0], self.index)

    def _self_excess(self, span: SpanRow) -> float:
        if self._is_hop(span):
            return 0.0  # its own time is the network: the call's gap says it
        own = self.index.self_time(span)
        if own is None:
            return self._excess(span)
        baseline = self.baselines.get(span.key)
        if baseline is None or baseline.self_time_ms is None:
            return 0.0
        return own - baseline.self_time_ms

    def calls(self, span: SpanRow) -> list[_Call]:
        return [_Call(target, client) for target, client in self.index.calls_of(span)]

    def _named_callee(self, node: SpanRow, calls: list[_Call]) -> EndpointKey | None:
        answered = {c.target.key for c in calls if c.target is not None}
        return self.graph.named_callee(node.key, node.error_message, answered)

    def hop_health(self) -> dict[tuple[str, str], bool]:
        """Per pair of services, whether their calls since the slow hops began
        (CLIENT span or hop span around the callee's span) took clearly longer
        than the callee's own time plus the usual gap: True slow, False healthy."""
        starts = sorted(self.hop_starts)
        since = starts[len(starts) // 10] if starts else float("-inf")
        extra: dict[tuple[str, str], list[float]] = defaultdict(list)
        for span in self.index.by_id.values():
            if (
                span.kind not in ENDPOINT_KINDS
                or not span.parent_span_id
                or span.start < since
            ):
                continue
            parent = self.index.by_id.get(span.parent_span_id)
            if parent is None or span.is_error:
                continue
            client = parent if parent.kind == "client" else None
            caller = (
                self.index.by_id.get(parent.parent_span_id or "") if client else parent
            )
            outer = call_timer(caller, span, client, self.index) if caller else None
            if outer is None:
                continue
            usual = self.graph.gap.get((caller.key, span.key))
            if usual is not None:
                excess = outer.duration_ms - span.duration_ms - usual
                extra[(caller.service, span.service)].append(excess / max(usual, 1.0))
        return {
            pair: sorted(values)[len(values) // 2] >= HOP_SLOW_RATIO
            for pair, values in extra.items()
            if len(values) >= HOP_MIN_CALLS
        }

    def _call_failed(self, call: _Call) -> bool:
        return call.target.is_error if call.target else call.client.is_error

    def _gap_excess(self, caller: SpanRow, call: _Call) -> float:
        """Time between the CLIENT span and the callee's SERVER span beyond the usual:
        the network (or a proxy, or a queue) between them."""
        if call.target is None:
            return 0.0
        outer = call_timer(caller, call.target, call.client, self.index)
        if outer is None:
            return 0.0
        usual = self.graph.gap.get((caller.key, call.target.key))
        if usual is None:
            return 0.0
        return outer.duration_ms - call.target.duration_ms - usual

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
            chosen = None
            broken = [c for c in calls if self._call_failed(c)]
            if failed and broken:
                chosen = broken[0]
            elif not broken and node.is_error:
                # Failed (or slow because it waited) without a failed call in the
                # trace: the callee its error names, if it names one.
                if named := self._named_callee(node, calls):
                    depth += 1
                    self.depth[named] = max(self.depth.get(named, 0), depth)
                    return named, node
            if chosen is None and calls:
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
                self.network_ends.setdefault(key, Counter())[
                    (node.key, chosen.target.key)
                ] += 1
                self.hop_starts.append(node.start)
                return key, chosen.client or node
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
        if (
            finding.type in (AnomalyType.SILENCE, AnomalyType.CALLS)
            or _is_drop(finding)
            or finding.kind in OWN_KINDS
        ):
            # Too many queries is the endpoint's own code, however slow the
            # database it asks; the load an entry point receives is its own; so
            # are the calls its successful requests skipped (following their
            # spans down would blame whichever call happened to be slowest).
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

    _blame_hops(explained, walker)

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
        for group in _own_groups(_group(items, walker), walker):
            groups.extend(_by_kind(group, walker))
    return _service_wide(groups)


# Kinds of fault that are an endpoint's own, whatever its traces show: its
# code asks the database too much (queries), its clients send far more or far
# fewer requests than usual (traffic).
OWN_KINDS = frozenset({FaultKind.QUERIES, FaultKind.TRAFFIC})


def _own_groups(group: Group, walker: _Walker) -> list[Group]:
    """Each endpoint's findings of an own kind (``OWN_KINDS``) as a group per
    endpoint and kind, rooted at that endpoint; the rest of the group stays as
    it was."""
    own = [f for f in group.findings if f.kind in OWN_KINDS]
    if not own:
        return [group]
    rest = [f for f in group.findings if f.kind not in OWN_KINDS]
    parts = [replace(group, findings=rest)] if rest else []
    for key, kind in sorted({(f.key, f.kind) for f in own}):
        mine = [f for f in own if f.key == key and f.kind == kind]
        shown = [
            walker.index.by_id[i]
            for f in mine
            for i in f.bad_span_ids[:5]
            if i in walker.index.by_id
        ]
        parts.append(
            Group(
                root=key,
                candidates=[Candidate(key, 1.0)],
                confidence=1.0,
                findings=mine,
                evidence={
                    "method": "self",
                    "votes": {key.label(): 1.0},
                    "example_spans": [_describe_span(s, walker) for s in shown[:5]],
                },
                kind=kind,
            )
        )
    return parts


def _blame_hops(explained: list[_Explained], walker: _Walker) -> None:
    """Slow hops name a side. A callee behind a slow network link is reached
    slowly by all its callers (and is slow to call its own callees); a starved
    caller is slow to call every callee. So each side of a slow hop is scored by
    the share of its links to other services seen in this cycle's traces that are
    slow, then by how many are: a network pseudo-root whose sides differ becomes
    an endpoint of the worse side, the called one or the calling one. A hop whose
    two sides look alike stays "the network between them"."""
    if not walker.network_ends:
        return
    seen = walker.hop_health()
    slow = {tuple(k.endpoint.split(" -> ", 1)) for k in walker.network_ends}
    slow |= {pair for pair, is_slow in seen.items() if is_slow}
    links: Counter[str] = Counter()
    slow_links: Counter[str] = Counter()
    for pair in slow | set(seen):
        for side in set(pair):
            links[side] += 1
            slow_links[side] += pair in slow

    def badness(side: str) -> tuple[float, int]:
        return slow_links[side] / links[side], slow_links[side]

    for key, ends in walker.network_ends.items():
        caller, _, callee = key.endpoint.partition(" -> ")
        if badness(caller) == badness(callee):
            continue
        calling, called = ends.most_common(1)[0][0]
        blamed = called if badness(callee) > badness(caller) else calling
        walker.hop_blame[blamed] = walker.hop_blame.get(blamed, ()) + (key,)
        walker.depth[blamed] = max(walker.depth.get(blamed, 0), walker.depth[key])
        for item in explained:
            if key in item.votes:
                item.votes[blamed] += item.votes.pop(key)


def _service_wide(groups: list[Group]) -> list[Group]:
    """Latency rooted at two or more endpoints of one service in one cycle is one
    fault of that service: one group, rooted at the service itself."""
    by_service: dict[str, list[Group]] = defaultdict(list)
    for group in groups:
        if group.kind == FaultKind.LATENCY and group.root.service != NETWORK:
            by_service[group.root.service].append(group)
    merged = {
        service: members
        for service, members in by_service.items()
        if len({g.root for g in members}) >= 2
    }
    result = [
        g for g in groups if not any(g is m for m in merged.get(g.root.service, ()))
    ]
    for service, members in merged.items():
        roots = sorted({g.root for g in members})
        root = EndpointKey(service, SERVICE_WIDE)
        scores: Counter[EndpointKey] = Counter()
        for group in members:
            for candidate in group.candidates:
                scores[candidate.key] += candidate.score / len(members)
        share = sum(v for k, v in scores.items() if k.service == service)
        ranked = [Candidate(root, round(min(share, 1.0), 4))] + [
            Candidate(k, round(v, 4))
            for k, v in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        evidence = {
            "method": "+".join(
                sorted({m for g in members for m in g.evidence["method"].split("+")})
            ),
            "service_wide": [k.endpoint for k in roots],
            "votes": {
                k: round(v, 3)
                for g in members
                for k, v in g.evidence.get("votes", {}).items()
            },
            "example_spans": [
                e for g in members for e in g.evidence.get("example_spans", [])
            ][:5],
        }
        result.append(
            Group(
                root=root,
                candidates=ranked[:MAX_CANDIDATES],
                confidence=max(g.confidence for g in members),
                findings=[f for g in members for f in g.findings],
                evidence=evidence,
                kind=FaultKind.LATENCY,
            )
        )
    return result


def _by_kind(group: Group, walker: _Walker) -> list[Group]:
    """One group per kind of fault at its root: an incident is one root *and* one
    kind. The root's own findings say which kinds; symptoms elsewhere join the
    group of their own kind, else the root's gravest (errors before latency). A
    root without findings of its own is a callee that stopped answering (latency:
    no answer is the slowest one) or takes the kind most of its symptoms show."""
    # A root that went silent has no kind of its own: what its silence did to its
    # callers decides (failures when they are refused, latency when they wait),
    # so the incident keeps one identity when the silence is noticed later.
    own = [
        f
        for f in group.findings
        if f.key == group.root and f.type != AnomalyType.SILENCE
    ]
    kinds = sorted({f.kind for f in own}, key=lambda k: k != FaultKind.ERRORS)
    if not kinds:
        symptoms = [f for f in group.findings if f.key != group.root]
        if group.root in walker.unanswered or not symptoms:
            kinds = [FaultKind.LATENCY]
        else:
            counts = Counter(f.kind for f in symptoms)
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
    hops = (root,) if root in walker.network_gaps else walker.hop_blame.get(root, ())
    if hops:
        gaps = sorted(g for hop in hops for g in walker.network_gaps[hop])
        evidence["network_extra_ms"] = round(gaps[len(gaps) // 2], 3)
    if root in walker.hop_blame:
        evidence["slow_hops"] = sorted(hop.endpoint for hop in hops)
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
