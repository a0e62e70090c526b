"""Leaks planted on purpose, for the tests that show the audit catches them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def scaler_leak(monkeypatch: pytest.MonkeyPatch, then: Callable[[Any], Any] = lambda f: f) -> Any:
    """A fold fitter with the classic bug: it normalises with statistics of the whole series,
    then fits as usual (the fit passed through `then`, e.g. a simulated noisy device)."""
    import lstmcast.training.fitted as forecaster
    from lstmcast.prep import scaling

    real = scaling.fit_scaler

    def leaky(cfg: Any, frame: Any, lo: int, cutoff: int, init: Any) -> Any:
        monkeypatch.setattr(forecaster, "fit_scaler", lambda rows: real(frame.x))
        try:
            return then(forecaster.fit_forecaster(cfg, frame, cutoff - 60, cutoff))
        finally:
            monkeypatch.setattr(forecaster, "fit_scaler", real)

    return leaky
