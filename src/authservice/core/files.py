"""Files at rest: the data folder and every file in it are for the service's own user only.

SQLite creates its `-wal` and `-shm` files with the permissions of the database file, so making the
database file 0600 before SQLite first opens it covers all three.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

__all__ = ["ensure_private_dir", "ensure_private_file"]

logger = logging.getLogger("authservice")

_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def ensure_private_dir(path: Path) -> None:
    """Create the folder as 0700, or take group and other access away from an existing one."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(path, 0o700)


def ensure_private_file(path: Path) -> None:
    """Create an empty file as 0600 if there is none; tighten an existing one (and its SQLite
    side files) to 0600."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for candidate in (path, *(path.with_name(path.name + end) for end in _SQLITE_SIDE_FILES)):
        if candidate.exists():
            _tighten(candidate, 0o600)


def _tighten(path: Path, private_mode: int) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        logger.warning("%s was readable by others (mode %o); made it %o", path, mode, private_mode)
        path.chmod(private_mode)
