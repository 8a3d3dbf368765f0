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

# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn): two
# instances would share it, and stopping one deletes the other's. One per data
# directory instead (a Unix socket path must stay under ~100 bytes).
_data_dir = os.environ.get("AIOPS_DATA_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "var"
)
_control = os.path.join(_data_dir, "gunicorn.ctl")
if len(_control.encode()) < 100:
    control_socket = _control
else:
    control_socket_disable = True


def worker_exit(server, worker):
    # Write what the span queue still holds before the worker process ends.
    from aiops.telemetry.writer import get_writer

    get_writer().stop()


def post_fork(server, worker):
    import sys

    switch = os.environ.get("AIOPS_GIL_SWITCH_INTERVAL")
    if switch:
        sys.setswitchinterval(float(switch))


def child_exit(server, worker):
    # In the master: a worker killed before it could flush lost what it had
    # queued; count it as dropped so that /metrics says so.
    import socket

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aiops_site.settings")
    try:
        import django

        django.setup()
        from aiops.telemetry.counters import count_lost

        lost = count_lost(host=socket.gethostname()[:100], pid=worker.pid)
    except Exception as exc:  # noqa: BLE001 - never take the master down
        server.log.warning(
            "could not count the spans of worker %s: %s", worker.pid, exc
        )
        return
    finally:
        # Workers forked later must not inherit the master's database connection.
        from django.db import connections

        connections.close_all()
    if lost:
        server.log.warning(
            "worker %s died with %s spans queued: lost", worker.pid, lost
        )
