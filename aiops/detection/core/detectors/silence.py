"""Silent endpoint (the prototype's ``timeout_issue``): traffic that should reach an
endpoint stopped arriving there.

What it should have seen is its usual rate scaled by how busy its witnesses are
(``aiops.detection.core.witness``): its callers, or for an entry point the rest of its
service. When the whole system goes quiet (the load stopped, telemetry stopped)
the witnesses are quiet too and nothing is expected; a lone request after an idle
stretch expects almost nothing. Judged over the whole window and its recent
half, so a callee that stops answering is caught within a cycle or two.
"""

from __future__ import annotations

from aiops.detection.core.database import is_database
from aiops.detection.core.detectors.base import DetectContext, Verdict
from aiops.detection.core.kinds import AnomalyType
from aiops.detection.core.types import Finding

SIGNAL = "traffic"
TYPE = AnomalyType.SILENCE
SHARES = (1.0, 0.5)


def detect(ctx: DetectContext) -> Verdict:
    cfg, baseline, window = ctx.config, ctx.baseline, ctx.window
    if not ctx.judged_enough or ctx.witnesses is None or is_database(window.key):
        # The database is seen only through requests that query it: fewer of
        # them (a cache warmed up, capture turned off) is no silence.
        return Verdict(SIGNAL)
    length = window.end - window.start
    suspicious = False
    best = None
    for share in SHARES:
        since = window.end - share * length
        if ctx.evidence_since is not None and since < ctx.evidence_since:
            continue
        busy, served = ctx.witnesses.share(window.key, since)
        expected = baseline.request_rate * share * length * busy
        seen = sum(1 for s in window.spans if s.start > since)
        if expected >= cfg.silence_min_expected / 2 and seen <= 0.2 * expected:
            suspicious = True
            if best is None or expected / (seen + 1) > best[0] / (best[1] + 1):
                best = (expected, seen, since, served)
    if not suspicious:
        return Verdict(SIGNAL)
    expected, seen, since, served = best
    significant = expected >= cfg.silence_min_expected and seen == 0
    if not significant and not ctx.in_incident:
        return Verdict(SIGNAL, suspicious=True)
    seconds = window.end - since
    witnesses = ", ".join(w.endpoint for w in ctx.witnesses.of(window.key))
    finding = Finding(
        key=window.key,
        type=TYPE,
        observed=float(seen),
        expected=expected,
        sample_count=seen,
        severity="high",
        summary=f"No responses for {seconds:.0f}s (expected ~{expected:.0f} "
        f"requests: {witnesses} served {served})",
        window_start=since,
        window_end=window.end,
        detail={
            "request_rate_per_s": round(baseline.request_rate, 4),
            "witnesses": [w.label() for w in ctx.witnesses.of(window.key)],
            "witness_requests": served,
        },
        opens_incident=significant,
    )
    return Verdict(SIGNAL, finding, suspicious=True)
