"""Real processes for the tests: a child's environment, a free loopback port, and a real
`dask scheduler` with workers. `test_sweep` and `test_tune` share them from here."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conftest import ROOT


def child_env(home: Path) -> dict[str, str]:
    return {**os.environ, "LSTMCAST_HOME": str(home), "OMP_NUM_THREADS": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def dask_cluster(
    home: Path, address: str, workers: int, *extra: str
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """A `dask scheduler` at `address` on loopback and `workers` one-thread workers (`extra`:
    e.g. TLS options for both); the workers are yielded, and everything is killed after."""
    bindir = Path(sys.executable).parent
    spawn: dict[str, Any] = {"cwd": ROOT, "env": child_env(home), "stdout": subprocess.DEVNULL,
                             "stderr": subprocess.DEVNULL}  # fmt: skip
    protocol, port = address.split("://")[0], address.rsplit(":", 1)[1]
    scheduler = subprocess.Popen(
        [str(bindir / "dask"), "scheduler", "--protocol", protocol, "--host", "127.0.0.1", "--port", port,
         "--no-dashboard", *extra], **spawn,
    )  # fmt: skip
    started = [
        subprocess.Popen(
            [
                str(bindir / "dask"),
                "worker",
                address,
                "--nthreads",
                "1",
                "--no-dashboard",
                "--no-nanny",
                *extra,
            ],
            **spawn,
        )
        for _ in range(workers)
    ]
    try:
        yield started
    finally:
        for p in [*started, scheduler]:
            p.kill()
            p.wait()
