#!/usr/bin/env python3
"""Send steady demo-shop traffic for a bounded time (standard library only).

    python3 scripts/demo_traffic.py --rps 4 --seconds 300

Checkouts (each calls payment and inventory) plus an occasional /health, at about
``--rps`` requests per second, to http://127.0.0.1:8000 unless ``--base`` says
otherwise. Prints a status-code tally every ``--report`` seconds and at the end.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

lock = threading.Lock()
tally: Counter = Counter()


def request(base: str, timeout: float) -> None:
    path, method = (
        ("/health", "GET") if random.random() < 0.1 else ("/checkout", "POST")
    )
    req = urllib.request.Request(
        base + path, method=method, data=b"" if method == "POST" else None
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            code = str(response.status)
    except urllib.error.HTTPError as exc:
        code = str(exc.code)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        code = type(getattr(exc, "reason", exc)).__name__
    with lock:
        tally[f"{method} {path} {code}"] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--rps", type=float, default=4.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--timeout", type=float, default=15.0)
    parser.add_argument("--report", type=float, default=30.0)
    args = parser.parse_args()
    if args.rps <= 0 or args.seconds <= 0:
        parser.error("--rps and --seconds must be positive")

    base = args.base.rstrip("/")
    deadline = time.monotonic() + args.seconds
    next_report = time.monotonic() + args.report
    workers: list[threading.Thread] = []
    try:
        while time.monotonic() < deadline:
            worker = threading.Thread(
                target=request, args=(base, args.timeout), daemon=True
            )
            worker.start()
            workers.append(worker)
            workers = [w for w in workers if w.is_alive()]
            time.sleep(random.expovariate(args.rps))
            if time.monotonic() >= next_report:
                with lock:
                    print(dict(sorted(tally.items())), flush=True)
                next_report += args.report
    except KeyboardInterrupt:
        pass
    for worker in workers:
        worker.join(timeout=args.timeout)
    print("total:", dict(sorted(tally.items())), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
