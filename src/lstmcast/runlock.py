"""A run lock that the kernel releases when its holder dies, so a crash never blocks for good:
`daily` holds one for the watchlist, `tune` one per search, so two runs never write one thing."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lstmcast.errors import LockHeldError


@contextmanager
def run_lock(path: Path, what: str = "daily run") -> Iterator[None]:
    """Hold an exclusive flock on `path`; raise LockHeldError at once if another run has it.

    The file may outlive a crashed run, but its flock does not: the next run takes it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise LockHeldError(
                f"another lstmcast {what} holds {path} (pid {holder}); try again later"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
