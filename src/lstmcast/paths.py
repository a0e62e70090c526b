"""Where lstmcast keeps its data: $LSTMCAST_HOME, --home, or the platform's user data dir."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

ENV_HOME = "LSTMCAST_HOME"


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data dir: an explicit path wins, then $LSTMCAST_HOME, then the platform default."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser().resolve()
    from platformdirs import user_data_dir

    return Path(user_data_dir("lstmcast", appauthor=False))


def db_path(home: Path) -> Path:
    return home / "lstmcast.db"


def models_dir(home: Path) -> Path:
    return home / "models"


def calendars_dir(home: Path) -> Path:
    """Trading sessions computed once and kept (forecasting/calendar.py)."""
    return home / "cache" / "calendars"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new content, never half of it.

    The temp file is created exclusively (O_EXCL, a fresh random name, beside the target): a
    file or symlink planted where it will be cannot redirect the write. It is removed if
    anything fails before the rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
