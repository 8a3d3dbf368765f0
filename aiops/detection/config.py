"""Detection settings (``AIOPS_*``), read once per cycle into a frozen value."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from django.conf import settings


@dataclass(frozen=True)
class DetectionConfig:
    interval: float = 30.0  # seconds between cycles
    window: float = 60.0  # seconds of spans a cycle judges
    # An endpoint with fewer spans in the window borrows its most recent ones, up to
    # this far back, so a quiet endpoint is judged on a few requests, never on one.
    lookback: float = 1800.0
    min_window_samples: int = 5
    ewma_alpha: float = 0.1  # per interval of healthy traffic
    min_baseline_samples: int = 20
    bootstrap_history: float = 3600.0
    latency_ratio: float = 3.0
    # A slow request is also at least this much slower than the baseline.
    latency_min_delta_ms: float = 5.0
    min_slow_samples: int = 3
    min_slow_fraction: float = 0.1
    significance: float = 1e-6
    error_rate_threshold: float = 0.2
    error_min_requests: int = 5
    min_error_samples: int = 3
    silence_min_expected: float = 20.0
    correlation_window: float = 300.0
    # Seconds without its anomalies before an incident resolves itself.
    resolve_after: float = 120.0
    reopen_window: float = 900.0
    # After this long continuously anomalous, a signal is learned again: a change
    # nobody fixed for hours becomes the new normal instead of an incident forever.
    relearn_after: float = 6 * 3600.0
    max_example_traces: int = 10
    # Latency shift: the median latency of the last k cycles is at least z long-run
    # standard deviations, and shift_min_change of the long-run mean, away from it
    # (k, z pairs: a longer run needs a smaller deviation). Empty disables it.
    shift_rules: tuple[tuple[int, float], ...] = ((1, 12.0), (3, 5.0), (5, 3.0))
    shift_min_change: float = 0.5
    shift_memory: float = 2000.0  # cycles of history in the long-run mean/variance
    # Learn and expect latency by time of day (detection.core.seasonal).
    seasonal: bool = True
    # Judge endpoints that behave as sampled series (one value a cycle: probes,
    # scheduled jobs) as series (detection.core.detectors.series).
    series: bool = True

    @property
    def effective_window(self) -> float:
        # A window shorter than the interval would leave spans no cycle ever judges.
        return max(self.window, self.interval)

    @classmethod
    def from_settings(cls, **overrides) -> DetectionConfig:
        values = {}
        for f in fields(cls):
            name = f"AIOPS_{f.name.upper()}"
            if hasattr(settings, name):
                value = getattr(settings, name)
                values[f.name] = (
                    value if isinstance(f.default, tuple) else (type(f.default)(value))
                )
        return replace(cls(**values), **overrides)
