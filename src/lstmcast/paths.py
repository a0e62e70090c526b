"""Where lstmcast keeps its data: $LSTMCAST_HOME, --home, or the platform's user data dir."""

from __future__ import annotations

import os
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
    """Write a file so that readers see the old or the new content, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
