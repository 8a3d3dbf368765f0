"""Who vouches that an endpoint should be busy right now.

Silence alone proves nothing: clients stop, load tests end, nights are quiet. An
endpoint that went quiet is a fault only when the traffic that should reach it
still arrives elsewhere. Its witnesses are its callers (learned from traces): if
they are still being called at their usual rate, their calls to it should be
arriving too. An endpoint nobody calls (an entry point) is vouched for by the
other endpoints of its service that it does not itself call: if they are busy,
its clients are still around. The share of their usual traffic that the
witnesses see scales what the quiet endpoint should have seen; when everything
stops, the share is near zero and so is the expectation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from aiops.detection.config import DetectionConfig
from aiops.detection.core.types import Baseline, CallEdge, EndpointKey, SpanRow
from aiops.detection.core.window import UNMATCHED

MAX_WITNESSES = 50


class Witnesses:
    def __init__(
        self,
        *,
        by_endpoint: dict[EndpointKey, list[SpanRow]],
        baselines: dict[EndpointKey, Baseline],
        edges: Iterable[CallEdge],
        now: float,
        config: DetectionConfig,
    ) -> None:
        self.by_endpoint = by_endpoint
        self.baselines = baselines
        self.now = now
        self.config = config
        self.callers: dict[EndpointKey, set[EndpointKey]] = defaultdict(set)
        self.callees: dict[EndpointKey, set[EndpointKey]] = defaultdict(set)
        for edge in edges:
            self.callers[edge.callee].add(edge.caller)
            self.callees[edge.caller].add(edge.callee)
        self._of: dict[EndpointKey, tuple[EndpointKey, ...]] = {}

    def _usable(self, key: EndpointKey) -> bool:
        baseline = self.baselines.get(key)
        return (
            key.endpoint != UNMATCHED
            and baseline is not None
            and baseline.knows_enough(self.config.min_baseline_samples)
            and baseline.request_rate > 0
        )

    def _downstream(self, key: EndpointKey) -> set[EndpointKey]:
        seen: set[EndpointKey] = set()
        todo = [key]
        while todo:
            for callee in self.callees.get(todo.pop(), ()):
                if callee not in seen:
                    seen.add(callee)
                    todo.append(callee)
        return seen

    def of(self, key: EndpointKey) -> tuple[EndpointKey, ...]:
        if key not in self._of:
            callers = sorted(c for c in self.callers.get(key, ()) if self._usable(c))
            if not callers:
                below = self._downstream(key) | {key}
                callers = sorted(
                    k
                    for k in self.baselines
                    if k.service == key.service and k not in below and self._usable(k)
                )
            self._of[key] = tuple(callers[:MAX_WITNESSES])
        return self._of[key]

    def share(self, key: EndpointKey, since: float) -> tuple[float, int]:
        """(share of their usual traffic the witnesses saw since ``since``, how
        many requests they served); (0, 0) when nobody can vouch."""
        witnesses = self.of(key)
        seconds = self.now - since
        expected = sum(self.baselines[w].request_rate for w in witnesses) * seconds
        if expected <= 0:
            return 0.0, 0
        served = sum(
            1 for w in witnesses for s in self.by_endpoint.get(w, ()) if s.start > since
        )
        return min(served / expected, 1.0), served
