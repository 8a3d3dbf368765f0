"""gunicorn settings for ``scripts/run.py`` and production (see README)."""

import os

workers = int(os.environ.get("AIOPS_WEB_WORKERS", "2"))
# Threads, because checkout calls payment and inventory on this same server: with
# one thread per worker, concurrent checkouts would wait on their own callees.
worker_class = "gthread"
threads = int(os.environ.get("AIOPS_WEB_THREADS", "16"))
timeout = 60
graceful_timeout = 30
accesslog = os.environ.get("AIOPS_ACCESS_LOG") or None


def worker_exit(server, worker):
    # Write what the span queue still holds before the worker process ends.
    from telemetry.writer import get_writer

    get_writer().stop()


def post_fork(server, worker):
    import sys

    switch = os.environ.get("AIOPS_GIL_SWITCH_INTERVAL")
    if switch:
        sys.setswitchinterval(float(switch))
