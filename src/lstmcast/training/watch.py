"""Who hears each epoch of every fit in this process: the one listener a command sets.

A walk-forward fits one network per fold (and seed) deep inside the backtest, audit or tune;
threading a callback through every layer to each fit would be noise in all of them. A
command at a terminal sets one listener here instead (`watch_epochs`), and every fit in this
process calls it after each epoch, so a fold's bar can show the epoch it is on. Fits on Dask
workers run in other processes and are not heard: their folds tick as they finish.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class EpochLog:
    """One epoch of a fit, as its history keeps it and a listener hears it."""

    epoch: int
    train_loss: float
    val_loss: float
    seconds: float


_LISTENER: ContextVar[Callable[[EpochLog], None] | None] = ContextVar("epoch_listener", default=None)


@contextmanager
def watch_epochs(listener: Callable[[EpochLog], None] | None) -> Iterator[None]:
    """Within it, every fit in this process calls `listener(log)` after each epoch."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def heard(log: EpochLog) -> None:
    """Tell the listener, if any, that an epoch ended."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(log)
