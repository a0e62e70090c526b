"""Where lstmcast keeps its data: $LSTMCAST_HOME, --home, or the platform's user data dir."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from platformdirs import user_data_dir

from lstmcast.errors import ConfigError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ENV_HOME = "LSTMCAST_HOME"


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data dir: an explicit path wins, then $LSTMCAST_HOME, then the platform default. An
    explicit empty path is refused: it is not "none given"."""
    if explicit is not None and not str(explicit).strip():
        raise ConfigError("--home '' names no folder: give a path, or leave --home out")
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser().resolve()

    return Path(user_data_dir("lstmcast", appauthor=False))


def db_path(home: Path) -> Path:
    return home / "lstmcast.db"


def models_dir(home: Path) -> Path:
    return home / "models"


def calendars_dir(home: Path) -> Path:
    """Trading sessions computed once and kept (forecasting/calendar.py)."""
    return home / "cache" / "calendars"


def _umask() -> int:
    """The process's umask (read by setting it, then putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new content, never half of it.

    The temp file is created exclusively (O_EXCL, a fresh random name, beside the target): a
    file or symlink planted where it will be cannot redirect the write. It is removed if
    anything fails before the rename. A rename is for regular files: a pipe or a device that
    is there (a FIFO, /dev/stdout) is written in place, never replaced by a file."""
    if _special(path):
        _write_in_place(path, data)
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _unwritable(path, exc) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a written file gets the usual mode
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(name, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(name)
        if isinstance(exc, OSError):
            raise _unwritable(path, exc) from None
        raise


def _special(path: Path) -> bool:
    """An existing pipe, socket or device (through any link): not a file a rename may replace."""
    return path.exists() and not path.is_file() and not path.is_dir()


PIPE_WAIT = 5.0  # seconds a pipe may take to get its reader before the write is refused


def _write_in_place(path: Path, data: bytes) -> None:
    """Write to a pipe or device as it is. A pipe no one reads within PIPE_WAIT seconds is
    refused, never waited on for ever."""
    deadline = time.monotonic() + PIPE_WAIT
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise _unwritable(path, exc) from None
            if time.monotonic() > deadline:
                raise ConfigError(
                    f"{path} is a pipe no one read for {PIPE_WAIT:g} s: nothing was written"
                ) from None
            time.sleep(0.05)
    try:
        os.set_blocking(fd, True)  # a reader is there: let it take the data at its pace
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:
        raise _unwritable(path, exc) from None
    finally:
        os.close(fd)


def _unwritable(path: Path, exc: OSError) -> ConfigError:
    """The user's path and what the system said, in one line; a full disk says so."""
    if exc.errno == errno.ENOSPC:
        return ConfigError(f"disk full at {path}: nothing was written there")
    if path.is_dir():
        return ConfigError(f"{path} is a directory: give a file name")
    return ConfigError(f"cannot write {path}: {exc.strerror or exc}")


def check_output(path: Path, directory: bool = False) -> Path:
    """Refuse, before any work, an output path that cannot be written: a file where a folder is
    wanted or the reverse, or a parent folder that is not writable. Returns the path."""
    if directory:
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{path} is a file: --out wants a folder")
        parent = path if path.exists() else _existing_parent(path)
    else:
        if path.is_dir():
            raise ConfigError(f"{path} is a directory: give a file name")
        if _special(path):  # written in place: it is the pipe or device, not its folder, that counts
            if not os.access(path, os.W_OK):
                raise ConfigError(f"cannot write {path}: it is not writable")
            return path
        parent = _existing_parent(path)
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write {path}: {parent} is not a writable folder")
    return path


PLOT_FORMATS = (".png", ".svg", ".pdf")


def check_plot(path: Path) -> Path:
    """`check_output` for a figure, whose name must say its format."""
    check_output(path)
    if path.suffix.lower() not in PLOT_FORMATS:
        raise ConfigError(f"{path}: --plot writes {', '.join(PLOT_FORMATS)}; name the file with one of them")
    return path


def _existing_parent(path: Path) -> Path:
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def append_text(path: Path, text: str) -> None:
    """Append `text` to a log: a regular file (made with its folder if missing), or a pipe or
    device written in place, where a pipe no one reads is refused after PIPE_WAIT seconds
    instead of holding the run for ever."""
    if _special(path):
        _write_in_place(path, text.encode("utf-8"))
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise _unwritable(path, exc) from None


def save_png(fig: Figure, path: Path) -> Path:
    """Lay out, render and write a figure atomically (a reader sees the old file or the new), in
    the format its name asks for: .png, .svg or .pdf (checked before the work: `check_plot`)."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    fmt = path.suffix.lower().lstrip(".")
    fig.savefig(buf, format=fmt if fmt in ("svg", "pdf") else "png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path
