"""Tasks asked for one at a time, as workers free up: the engine of ask-and-tell searches.

`run_tasks` submits a fixed set of tasks at once; a search decides each next task from the
outcomes so far, so it is asked for only when a slot frees. The same rules hold: the driver
keeps the store and the search, workers get typed values and their share of the cores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lstmcast.errors import TemporaryError
from lstmcast.parallel.engine import RETRIES, Parallel, TaskOutcome, dask_client, threaded


def stream_tasks(
    fn: Callable[..., Any],
    next_task: Callable[[], tuple[str, dict[str, Any]] | None],
    shared: dict[str, Any],
    on_done: Callable[[TaskOutcome], None],
    parallel: Parallel = Parallel(),
    in_flight: int | None = None,
) -> float:
    """Like `run_tasks`, but the tasks are asked for one at a time, as slots free up: at most
    `in_flight` (default: one per worker) run at once, and `next_task()` (in the driver) may
    use every outcome handed to `on_done` so far. None from `next_task` means no more for
    now; the stream ends when nothing is running and `next_task` still has nothing.
    Ask-and-tell searches run on this: only the driver holds the search."""
    if not parallel.distributed:
        while (item := next_task()) is not None:
            key, kwargs = item
            t0 = time.perf_counter()
            try:
                value = fn(**shared, **kwargs)
            except Exception as exc:  # a task's failure is recorded; the stream goes on
                on_done(TaskOutcome(key, None, exc, time.perf_counter() - t0))
                continue
            on_done(TaskOutcome(key, value, None, time.perf_counter() - t0))
        return 0.0
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    t0 = time.perf_counter()
    task = threaded(fn, parallel.threads_per_worker())
    with dask_client(parallel) as client:
        try:
            scattered = {k: client.scatter(v, broadcast=True) for k, v in shared.items()}  # once
            started = time.perf_counter()
            startup = started - t0
            slots = in_flight or max(1, sum(client.nthreads().values()))
            running: dict[Any, tuple[str, float]] = {}

            def submit() -> Any:
                item = next_task()
                if item is None:
                    return None
                key, kwargs = item
                future = client.submit(
                    task, **scattered, **kwargs, key=f"lstmcast-{key}", retries=RETRIES, pure=False
                )
                running[future] = (key, time.perf_counter())
                return future

            first = [f for _ in range(slots) if (f := submit()) is not None]
            stream = as_completed(first, loop=client.loop)
            for future in stream:
                key, since = running.pop(future)
                value, error = None, None
                try:
                    value = future.result()
                except FutureCancelledError as exc:
                    raise TemporaryError(f"the Dask cluster cancelled the work ({exc})") from None
                except (KilledWorker, Exception) as exc:  # a dead worker, or the task raised
                    error = exc
                on_done(TaskOutcome(key, value, error, time.perf_counter() - since))
                while len(running) < slots and (nxt := submit()) is not None:
                    stream.add(nxt)
        except (OSError, TimeoutError) as exc:
            raise TemporaryError(f"lost the Dask cluster ({type(exc).__name__}: {exc})") from None
    return startup
