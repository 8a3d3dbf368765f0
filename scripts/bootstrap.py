"""Create the project's virtual environment and keep it in step with requirements.txt.

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
STAMP = VENV / ".requirements.sha256"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv() -> Path:
    """The venv's python, installing or updating packages when requirements change."""
    python = venv_python()
    if not python.exists():
        print(f"Creating virtual environment in {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        print(
            "Installing requirements (first run or requirements.txt changed) ...",
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
                str(REQUIREMENTS),
            ],
            check=True,
        )
        STAMP.write_text(wanted)
    return python


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def reexec_in_venv(script: Path) -> None:
    """Replace this process with the same script under the venv's interpreter."""
    python = ensure_venv()
    if not in_venv():
        os.execv(str(python), [str(python), str(script), *sys.argv[1:]])


if __name__ == "__main__":
    # ``python3 scripts/bootstrap.py``: create or update .venv and nothing else.
    print(f"virtual environment ready: {ensure_venv()}")
