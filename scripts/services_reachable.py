#!/usr/bin/env python3
"""Exit 0 if every URL's host:port accepts a TCP connection, else print why and exit 1.

Usage: services_reachable.py URL [URL ...]   (standard library only)
"""

from __future__ import annotations

import socket
import sys
from urllib.parse import urlsplit

DEFAULT_PORTS = {"postgres": 5432, "postgresql": 5432, "redis": 6379}


def unreachable(url: str) -> str | None:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    try:
        with socket.create_connection((host, port), timeout=3):
            return None
    except OSError as exc:
        return f"{parts.scheme} at {host}:{port} is not reachable ({exc})"


def main() -> int:
    problems = [p for p in (unreachable(url) for url in sys.argv[1:]) if p]
    if problems:
        print("; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
