"""AIOps for Django: telemetry, anomaly detection, root causes and incidents."""

__version__ = "0.2.0"
