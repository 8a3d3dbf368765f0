"""The SQLite database holds API tokens, session keys and channel secrets: only
its owner may read it (and its -wal and -shm files), whatever the umask was when
it was created."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def restrict_sqlite_files(sender, connection, **kwargs) -> None:
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(name + suffix)
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                os.chmod(path, stat.S_IMODE(mode) & 0o700)
        except OSError:
            continue  # not there (yet), or not ours to change
