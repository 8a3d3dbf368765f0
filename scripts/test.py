#!/usr/bin/env python3
"""Run the whole test suite: ``python3 scripts/test.py [pytest arguments]``.

Sets up .venv on first use, with the test tools (requirements-dev.txt). The same
command runs against PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set
(that is what .ci/run does for its second pass).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import DEV_REQUIREMENTS, ROOT, reexec_in_venv  # noqa: E402


def main() -> None:
    reexec_in_venv(Path(__file__).resolve(), DEV_REQUIREMENTS)
    os.chdir(ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *sys.argv[1:]])


if __name__ == "__main__":
    main()
