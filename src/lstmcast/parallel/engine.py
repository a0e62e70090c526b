"""Independent tasks in one process, on an embedded Dask LocalCluster, or on a Dask cluster.

The driver keeps the store and the network: workers get plain arguments (configs, price
frames scattered once to every worker) and return plain results. One thread per worker
process; each task sets torch's threads itself, since workers are reused between tasks.
Dask is imported only when a cluster is asked for.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lstmcast.errors import ConfigError, TemporaryError

RETRIES = 2  # a task whose worker died is run again this often before it counts as failed
CONNECT_TIMEOUT_S = 5  # an unreachable scheduler: one line and exit 75, never a hang
HANDSHAKE_GRACE_S = 2  # then a server that accepts and never answers is given up on too


@dataclass
class TaskOutcome:
    key: str
    value: Any = None
    error: BaseException | None = None
    seconds: float = 0.0


SCHEMES = ("tcp", "tls", "inproc", "ucx")  # the transports distributed speaks
_ADDRESS = re.compile(
    r"(?:(?P<scheme>[a-z]+)://)?(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(?P<port>\d{1,5})"
)


def check_address(cluster: str) -> str:
    """A scheduler address as distributed takes it, `tcp://HOST:PORT` (or `HOST:PORT`, tls://,
    ...), or a ConfigError in one line: a malformed one never reaches distributed."""
    m = _ADDRESS.fullmatch(cluster.strip())
    if m is None or (m["scheme"] or "tcp") not in SCHEMES or not 0 < int(m["port"]) < 65536:
        raise ConfigError(
            f"--cluster {cluster!r} is not a Dask scheduler address; give tcp://HOST:PORT"
            f" (schemes: {', '.join(SCHEMES)})"
        )
    return cluster.strip()


def _connect(client_type: Any, cluster: str) -> Any:
    """A Client to the scheduler at `cluster`, or a TemporaryError within CONNECT_TIMEOUT_S +
    HANDSHAKE_GRACE_S: distributed's own timeout covers an unreachable port, not a server
    that accepts and never answers (an HTTP server, a stray socket), which used to hang."""
    address = check_address(cluster)
    got: dict[str, Any] = {}

    def attempt() -> None:
        try:
            got["client"] = client_type(address, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
        except BaseException as exc:  # handed to the caller below
            got["error"] = exc

    thread = threading.Thread(target=attempt, name="lstmcast-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT_S + HANDSHAKE_GRACE_S)
    if thread.is_alive():
        raise TemporaryError(
            f"cannot reach the Dask scheduler at {address}: no Dask handshake within"
            f" {CONNECT_TIMEOUT_S + HANDSHAKE_GRACE_S}s (is it a Dask scheduler?)"
        )
    if "error" in got:
        exc = got["error"]
        if isinstance(exc, (OSError, TimeoutError)):
            raise TemporaryError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
        raise TemporaryError(f"cannot use the Dask scheduler at {address} ({type(exc).__name__}: {exc})")
    return got["client"]


@contextmanager
def dask_client(workers: int, cluster: str | None) -> Any:
    """A distributed.Client: to the scheduler at `cluster`, or to an embedded LocalCluster of
    `workers` single-threaded worker processes (no dashboard)."""
    from distributed import Client, LocalCluster

    if cluster is not None:
        client = _connect(Client, cluster)
        try:
            yield client
        finally:
            client.close()
        return
    local = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        # No dashboard; the scheduler's small HTTP server (metrics) takes a free port instead of
        # 8787, so a second lstmcast, or anything else on 8787, neither clashes nor warns.
        dashboard_address=":0",
        scheduler_kwargs={"dashboard": False},
        silence_logs=logging.ERROR,
    )
    client = Client(local, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        local.close()


def run_tasks(
    fn: Callable[..., Any],
    tasks: dict[str, dict[str, Any]],
    shared: dict[str, Any],
    on_done: Callable[[TaskOutcome], None],
    workers: int = 1,
    cluster: str | None = None,
) -> float:
    """Call fn(**shared, **tasks[key]) for every key and hand each outcome to `on_done` in the
    driver as it finishes. Serial and in-process (no Dask) for one worker and no cluster.
    Returns the seconds spent starting the cluster and shipping the shared data (0 serially)."""
    if workers <= 1 and cluster is None:
        for key, kwargs in tasks.items():
            t0 = time.perf_counter()
            try:
                on_done(TaskOutcome(key, fn(**shared, **kwargs), None, time.perf_counter() - t0))
            except Exception as exc:  # a cell's failure is recorded; the sweep goes on
                on_done(TaskOutcome(key, None, exc, time.perf_counter() - t0))
        return 0.0
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    t0 = time.perf_counter()
    with dask_client(workers, cluster) as client:
        try:
            scattered = {k: client.scatter(v, broadcast=True) for k, v in shared.items()}  # once
            started = time.perf_counter()
            startup = started - t0
            futures = {
                client.submit(
                    fn, **scattered, **kwargs, key=f"lstmcast-{key}", retries=RETRIES, pure=False
                ): key
                for key, kwargs in tasks.items()
            }
            for future in as_completed(futures, loop=client.loop):
                key = futures[future]
                try:
                    value = future.result()
                    seconds = value.get("seconds", 0.0) if isinstance(value, dict) else 0.0
                    on_done(TaskOutcome(key, value, None, float(seconds)))
                except KilledWorker as exc:
                    on_done(TaskOutcome(key, None, exc, time.perf_counter() - started))
                except FutureCancelledError as exc:
                    raise TemporaryError(f"the Dask cluster cancelled the work ({exc})") from None
                except Exception as exc:  # the task itself raised: bad data, a bad config
                    on_done(TaskOutcome(key, None, exc, 0.0))
        except (OSError, TimeoutError) as exc:
            raise TemporaryError(f"lost the Dask cluster ({type(exc).__name__}: {exc})") from None
    return startup
