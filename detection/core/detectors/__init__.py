"""The registered detectors, in the order they run."""

from detection.core.detectors import errors, latency, silence

DETECTORS = (latency, errors, silence)
