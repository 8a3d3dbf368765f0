"""Silent endpoint (the prototype's ``timeout_issue``): steady traffic stopped.

Only judged while the rest of the system is still sending spans: when everything
goes quiet at once, the load stopped or telemetry stopped, and N "silent" incidents
would be noise.
"""

from __future__ import annotations

from detection.core.detectors.base import DetectContext, Verdict
from detection.core.types import Finding

SIGNAL = "traffic"
TYPE = "timeout_issue"


def detect(ctx: DetectContext) -> Verdict:
    cfg, baseline = ctx.config, ctx.baseline
    window = ctx.window
    if not ctx.judged_enough or not ctx.system_active:
        return Verdict(SIGNAL)
    duration = window.end - window.start
    expected = baseline.request_rate * duration
    seen = len(window.spans)
    suspicious = expected >= cfg.silence_min_expected / 2 and seen <= 0.2 * expected
    if not suspicious:
        return Verdict(SIGNAL)
    significant = expected >= cfg.silence_min_expected and seen == 0
    if not significant and not ctx.in_incident:
        return Verdict(SIGNAL, suspicious=True)
    finding = Finding(
        key=window.key,
        type=TYPE,
        observed=float(seen),
        expected=expected,
        sample_count=seen,
        severity="high",
        summary=f"No responses for {duration:.0f}s (expected ~{expected:.0f} requests)",
        window_start=window.start,
        window_end=window.end,
        detail={"request_rate_per_s": round(baseline.request_rate, 4)},
        opens_incident=significant,
    )
    return Verdict(SIGNAL, finding, suspicious=True)
