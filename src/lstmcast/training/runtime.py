"""Process-level settings for fast, repeatable CPU training: seeds, threads, allocator, device."""

from __future__ import annotations

import ctypes
import os
import random
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import numpy as np
import torch

from lstmcast.errors import ConfigError
from lstmcast.threadpolicy import thread_choice

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_tuned = False


def tune_allocator() -> None:
    """Stop glibc from returning and re-faulting training buffers every step.

    Measured here: 1.45x faster LSTM fits (1.7x on long series). Same as setting
    MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_, but from inside the process.
    """
    global _tuned
    keep_dynamo_unloaded()
    if _tuned or not sys.platform.startswith("linux"):
        return
    _tuned = True
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return  # the user (or the Makefile) already chose
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)
        libc.mallopt(_M_TRIM_THRESHOLD, 1024 * 1024 * 1024)
    except (OSError, AttributeError):
        pass  # not glibc (musl, macOS): nothing to tune


def adam(params: Iterable[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """torch.optim.Adam, stepped without importing torch._dynamo.

    Adam.step is wrapped by a function that imports torch._dynamo on every call to place a
    graph break for torch.compile, then runs the step under no_grad. lstmcast never compiles,
    so `step` here runs torch's own Adam step body (the same function, the same arithmetic)
    under no_grad; the optimizer hooks around it are kept.
    """
    return _Adam(params, lr=lr)


class _Adam(torch.optim.Adam):
    _body = getattr(torch.optim.Adam.step, "__wrapped__", None)

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        if self._body is None:  # a torch whose wrappers differ: the ordinary path
            return super().step(closure)
        with torch.no_grad():
            return self._body(closure)


def keep_dynamo_unloaded() -> None:
    """Stop the first optimizer from importing torch._dynamo (with `adam` above: about 2 s and
    64 MB per training process here, benchmarks/bench_startup.py).

    torch.optim.Optimizer's add_param_group, zero_grad, state_dict and load_state_dict are
    wrapped by torch._disable_dynamo, which imports torch._dynamo on the first call only to
    build `torch._dynamo.disable(fn)`, a wrapper that matters under torch.compile. lstmcast
    never compiles, and outside compilation that wrapper just calls fn; seeding the wrapper's
    cache with fn itself skips the import and changes no result.
    """
    if "torch._dynamo" in sys.modules:
        return
    for name in ("add_param_group", "zero_grad", "state_dict", "load_state_dict"):
        fn = getattr(getattr(torch.optim.Optimizer, name, None), "__wrapped__", None)
        if fn is not None and getattr(fn, "__dynamo_disable", None) is None:
            setattr(fn, "__dynamo_disable", fn)  # the cache torch._disable_dynamo reads


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def set_threads(threads: int) -> None:
    """Torch's intra-op threads: `threads`, or for 0 the policy's choice (the free cores)."""
    n = thread_choice(threads).threads
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def pick_device(requested: str) -> torch.device:
    """The torch device for --device: `auto` is $LSTMCAST_DEVICE when set (the test suite pins
    it to cpu), else CUDA, then Apple's MPS, then the CPU."""

    if requested == "auto" and os.environ.get("LSTMCAST_DEVICE", "auto") != "auto":
        requested = os.environ["LSTMCAST_DEVICE"]
        if requested not in ("cpu", "cuda", "mps"):
            raise ConfigError(f"LSTMCAST_DEVICE={requested!r}: choose auto, cpu, cuda or mps")
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA GPU is available to this torch build")
    if requested == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise ConfigError("--device mps: Apple's Metal backend is not available here")
    return torch.device(requested)


@contextmanager
def deterministic(device: torch.device) -> Iterator[None]:
    """Kernels that give the same bits on every run where the device offers them: on CUDA,
    torch's deterministic algorithms, cuDNN's deterministic mode and a fixed cuBLAS workspace.
    An op without a deterministic CUDA kernel warns instead of failing; whatever still varies
    is what the audit's noise floor measures. CPU runs are repeatable already."""
    if device.type != "cuda":
        yield
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read when cuBLAS starts
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[2], before[3]


def prepare(threads: int, seed: int, device: str) -> tuple[torch.Generator, torch.device]:
    """What every fit sets up first: the allocator, its torch threads, every seed, and the
    device; returns the generator its batches shuffle with, and the device."""
    tune_allocator()
    set_threads(threads)
    return seed_everything(seed), pick_device(device)
