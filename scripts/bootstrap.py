"""Create the project's virtual environment and keep it in step with its requirements.

``requirements.txt`` for running the site, ``requirements-dev.txt`` (which includes
it) for the tests and tools.

Standard library only: this runs on a fresh machine with nothing but Python 3.11+.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("AIOPS_VENV", ROOT / ".venv"))
REQUIREMENTS = ROOT / "requirements.txt"
DEV_REQUIREMENTS = ROOT / "requirements-dev.txt"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(requirements: Path = REQUIREMENTS) -> Path:
    """The venv's python, installing or updating packages when requirements change."""
    python = venv_python()
    if not python.exists():
        print(f"Creating virtual environment in {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    digest = hashlib.sha256()
    for path in (REQUIREMENTS, requirements):  # the dev file includes the other
        digest.update(path.read_bytes())
    wanted = digest.hexdigest()
    stamp = VENV / f".{requirements.stem}.sha256"
    if not stamp.exists() or stamp.read_text().strip() != wanted:
        print(
            f"Installing requirements (first run or {requirements.name} changed) ...",
            flush=True,
        )
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(requirements),
            ],
            check=True,
        )
        stamp.write_text(wanted)
    return python


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def reexec_in_venv(script: Path, requirements: Path = REQUIREMENTS) -> None:
    """Replace this process with the same script under the venv's interpreter."""
    python = ensure_venv(requirements)
    if not in_venv():
        os.execv(str(python), [str(python), str(script), *sys.argv[1:]])


if __name__ == "__main__":
    # ``python3 scripts/bootstrap.py [--dev]``: create or update .venv, nothing else.
    wanted = DEV_REQUIREMENTS if "--dev" in sys.argv[1:] else REQUIREMENTS
    print(f"virtual environment ready: {ensure_venv(wanted)}")
