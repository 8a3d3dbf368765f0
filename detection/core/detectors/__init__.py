"""The registered detectors, in the order they run."""

from detection.core.detectors import errors, latency, shift, silence

DETECTORS = (latency, shift, errors, silence)
