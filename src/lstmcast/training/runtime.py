"""Process-level settings for fast, repeatable CPU training: seeds, threads, allocator, device."""

from __future__ import annotations

import ctypes
import os
import random
import sys

import numpy as np
import torch

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_tuned = False


def tune_allocator() -> None:
    """Stop glibc from returning and re-faulting training buffers every step.

    Measured here: 1.45x faster LSTM fits (1.7x on long series). Same as setting
    MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_, but from inside the process.
    """
    global _tuned
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


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def set_threads(threads: int) -> None:
    """0 keeps torch's default (all cores). Sweeps should give each worker cores/workers."""
    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def pick_device(requested: str) -> torch.device:
    from lstmcast.errors import ConfigError

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
