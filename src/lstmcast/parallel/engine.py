"""Independent tasks in one process, on an embedded Dask LocalCluster, or on a Dask cluster.

The driver keeps the store and the network: workers get plain arguments (configs, price
frames scattered once to every worker) and return plain results. One thread per worker
process; each task sets torch's threads itself, since workers are reused between tasks.
Dask is imported only when a cluster is asked for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lstmcast.errors import TemporaryError

RETRIES = 2  # a task whose worker died is run again this often before it counts as failed
CONNECT_TIMEOUT_S = 5  # an unreachable scheduler: one line and exit 75, never a hang


@dataclass
class TaskOutcome:
    key: str
    value: Any = None
    error: BaseException | None = None
    seconds: float = 0.0


@contextmanager
def dask_client(workers: int, cluster: str | None) -> Any:
    """A distributed.Client: to the scheduler at `cluster`, or to an embedded LocalCluster of
    `workers` single-threaded worker processes (no dashboard)."""
    from distributed import Client, LocalCluster

    if cluster is not None:
        try:
            client = Client(cluster, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise TemporaryError(f"cannot reach the Dask scheduler at {cluster} ({exc})") from None
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
