"""How many torch threads a fit gets when the user did not say (`--threads 0`): the cores this
process may use, less those that other work keeps busy right now.

torch's default is every core. On a shared machine its OpenMP threads then spin-wait on cores
other processes hold, and a fit runs several times slower than on one thread (docs/speed.md:
on 2 cores beside one busy process, `train IBM --epochs 3` took 22.2 s on 2 threads and
12.1 s on 1). The load average lags by a minute, so the busy cores are measured by a short
probe of /proc/stat instead, once per process. `--threads N` always wins.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from dataclasses import dataclass

PROBE_S = 0.1  # long enough to see a busy core, short enough to go unnoticed before a fit


@dataclass(frozen=True)
class ThreadChoice:
    threads: int
    why: str  # for the report: "--threads 2", or what the probe saw


def usable_cores() -> set[int]:
    """The CPUs this process may run on (its affinity; all of them where that is unknown)."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return set(range(os.cpu_count() or 1))


def _cpu_times() -> dict[int, tuple[int, int]]:
    """cpu index -> (busy jiffies, total jiffies), from /proc/stat."""
    out = {}
    with open("/proc/stat") as fh:
        for line in fh:
            name, *fields = line.split()
            if not name.startswith("cpu") or name == "cpu":
                continue
            ticks = [int(x) for x in fields[:8]]  # user nice system idle iowait irq softirq steal
            out[int(name[3:])] = (sum(ticks) - ticks[3] - ticks[4], sum(ticks))
    return out


def busy_cores(cores: set[int], seconds: float = PROBE_S) -> float | None:
    """How many of `cores` other work kept busy over `seconds` (this process sleeps meanwhile),
    or None where /proc/stat cannot be read."""
    try:
        before = _cpu_times()
        time.sleep(seconds)
        after = _cpu_times()
    except (OSError, ValueError):
        return None
    busy = 0.0
    for c in cores:
        if c in before and c in after and after[c][1] > before[c][1]:
            busy += (after[c][0] - before[c][0]) / (after[c][1] - before[c][1])
    return busy


def choose_threads(requested: int, cores: int | None = None, busy: float | None = None) -> ThreadChoice:
    """`requested` when it is set; else the usable cores less the busy ones, at least one."""
    if requested > 0:
        return ThreadChoice(requested, f"--threads {requested}")
    usable = cores if cores is not None else len(usable_cores())
    if busy is None:
        return ThreadChoice(usable, f"{usable} usable core(s); their load could not be read")
    n = max(1, min(usable, int(usable - busy + 0.5)))
    return ThreadChoice(n, f"{usable} usable core(s), {busy:.1f} busy with other work at the start")


@functools.cache
def probed() -> ThreadChoice:
    """The usable cores less those other work keeps busy, probed once per process (the probe
    sleeps 0.1 s): what a lone fit and the local workers both start from."""
    cores = usable_cores()
    return choose_threads(0, len(cores), busy_cores(cores))


def free_cores() -> int:
    """The free cores, at least one (`probed`, before any worker starts): what local parallel
    workers divide among themselves."""
    return probed().threads


_SHARE: list[int] = []  # a worker's share of the cores, pinned by the engine for this process


def pin_share(threads: int) -> None:
    """A parallel worker's share of the cores: what `--threads 0` means inside it from now on."""
    _SHARE[:] = [threads]


def thread_choice(threads: int) -> ThreadChoice:
    """What a fit of `--threads threads` runs on: the number given; for 0, a Dask worker's
    pinned share of the cores where the engine set one, else the policy's choice."""
    if threads > 0:
        return choose_threads(threads)
    if _SHARE:
        return ThreadChoice(_SHARE[0], "this worker's share of the cores")
    return auto_threads()


@functools.cache
def auto_threads() -> ThreadChoice:
    """The choice for `--threads 0`, probed once per process. OMP_NUM_THREADS, when set to a
    count, is honoured as torch itself honours it (the test suite sets 1)."""
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return ThreadChoice(int(env), f"OMP_NUM_THREADS={env}")
    return probed()


def oversubscribed(threads: int, usable: int, busy: float | None) -> bool:
    """`threads` is more than the cores other work leaves free (half a core of slack)."""
    return busy is not None and threads > max(1.0, usable - busy) + 0.5


def _torch_loaded() -> bool:
    return "torch" in sys.modules


def calm_openmp(threads: int) -> bool:
    """Before torch loads: when a fixed thread count (`--threads N`, or OMP_NUM_THREADS) is more
    than the cores other work leaves free, make OpenMP's idle threads sleep rather than spin on
    cores that work holds (OMP_WAIT_POLICY=PASSIVE): on 2 cores beside 2 busy processes a
    2-thread fit then takes 25 s instead of 122 s (docs/speed.md). A quiet machine keeps the
    runtime's spinning, which is faster there; the policy's own choice (`--threads 0`) never
    oversubscribes. A policy the user set, or a torch already loaded, is left alone. Returns
    whether it set one."""
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    fixed = threads if threads > 0 else (int(env) if env.isdigit() else 0)
    if fixed <= 1 or "OMP_WAIT_POLICY" in os.environ or _torch_loaded():
        return False
    cores = usable_cores()
    if not oversubscribed(fixed, len(cores), busy_cores(cores)):
        return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True
