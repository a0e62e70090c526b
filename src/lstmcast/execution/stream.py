"""Running tasks: in this process, or on Dask, handing each outcome to the driver as it ends.

`stream_tasks` asks for each task when a slot frees, so a search can decide the next task
from the outcomes so far; `run_tasks` is the same with a fixed set of tasks, all submitted at
once. Either way the driver keeps the store (and the search), workers get typed values and
their share of the cores as torch threads, and only a cluster that is asked for imports Dask.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from lstmcast.errors import TemporaryError
from lstmcast.execution.engine import RETRIES, Parallel, TaskOutcome, V, dask_client, threaded

if TYPE_CHECKING:
    from distributed import Future


def stream_tasks(
    fn: Callable[..., V],
    next_task: Callable[[], tuple[str, Mapping[str, object]] | None],
    shared: dict[str, object],
    on_done: Callable[[TaskOutcome[V]], None],
    parallel: Parallel = Parallel(),
    in_flight: int | None = None,
) -> float:
    """Call fn(**shared, **kwargs) for each (key, kwargs) that `next_task()` gives, and hand
    each outcome to `on_done` in the driver as it finishes. At most `in_flight` (default: one
    per worker) run at once, and `next_task()` may use every outcome handed on so far. None
    from it means no more for now; the stream ends when nothing is running and it still has
    nothing. Serial and in-process (no Dask) for one worker and no cluster. An outcome's
    seconds are the task's own compute time when its value reports one (`.seconds`), else the
    time since it was submitted. Returns the seconds spent starting the cluster and shipping
    the shared data (0 serially)."""
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
            running: dict[Future[V], tuple[str, float, Mapping[str, object], int]] = {}

            def send(key: str, kwargs: Mapping[str, object], attempt: int = 0) -> Future[V]:
                name = f"lstmcast-{key}" + (f"-again{attempt}" if attempt else "")
                future = client.submit(task, **scattered, **kwargs, key=name, retries=RETRIES, pure=False)
                running[future] = (key, time.perf_counter(), kwargs, attempt)
                return future

            def submit() -> Future[V] | None:
                item = next_task()
                return None if item is None else send(*item)

            first = [f for _ in range(slots) if (f := submit()) is not None]
            stream = as_completed(first, loop=client.loop)
            for future in stream:
                key, since, kwargs, attempt = running.pop(future)
                got: V | None = None
                error: BaseException | None = None
                try:
                    got = future.result()
                except FutureCancelledError as exc:
                    # A worker that dies mid-task can leave the scheduler forgetting the task
                    # ("already forgotten") instead of retrying it: send it again, under a new
                    # key, a bounded number of times; a cluster that keeps cancelling is lost.
                    if attempt < RETRIES:
                        stream.add(send(key, kwargs, attempt + 1))
                        continue
                    raise TemporaryError(f"the Dask cluster cancelled the work ({exc})") from None
                except (KilledWorker, Exception) as exc:  # a dead worker, or the task raised
                    error = exc
                took = getattr(got, "seconds", None)
                seconds = float(took) if isinstance(took, (int, float)) else time.perf_counter() - since
                on_done(TaskOutcome(key, got, error, seconds))
                while len(running) < slots and (nxt := submit()) is not None:
                    stream.add(nxt)
        except (OSError, TimeoutError) as exc:
            raise TemporaryError(f"lost the Dask cluster ({type(exc).__name__}: {exc})") from None
    return startup


def run_tasks(
    fn: Callable[..., V],
    tasks: Mapping[str, Mapping[str, object]],
    shared: dict[str, object],
    on_done: Callable[[TaskOutcome[V]], None],
    parallel: Parallel = Parallel(),
) -> float:
    """`stream_tasks` over a fixed set: fn(**shared, **tasks[key]) for every key, all
    submitted at once (in the order given). On workers, the tasks' configs should ask for 0
    torch threads: the worker's share is set."""
    pending = iter(tasks.items())
    return stream_tasks(fn, lambda: next(pending, None), shared, on_done, parallel, max(1, len(tasks)))
