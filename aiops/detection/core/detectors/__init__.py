"""The registered detectors, in the order they run."""

from aiops.detection.core.detectors import (
    errors,
    latency,
    n_plus_one,
    query_count,
    shift,
    silence,
    traffic,
)

DETECTORS = (latency, shift, errors, silence, traffic, n_plus_one, query_count)
