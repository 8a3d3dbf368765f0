from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], bool], *, timeout: float = 10.0) -> None:
    """Poll a real condition (a row appears, a port answers) until a deadline.

    For effects of other threads or processes; never a stand-in for a clock.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.05)
