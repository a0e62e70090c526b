"""What a network learns across a universe: one `PanelLearner` per target, the one place a
target's name picks what differs on a panel.

A learner owns four things: what is realised at each (date, member) (`outcome`), the
inputs the network reads (`inputs`, each member's scaler fitted up to a cutoff), what the
network is fitted to (`learn`, scaled on rows before a cutoff only), and how its scores
become forecasts in the outcome's units (`forecasts`). The walk-forward, the folds, the fit
and the workers are shared and never ask which learner they hold.

- `rank` and `excess` (cross-sectional): the outcome is the h-day log return; the network
  learns its centred rank that date, or its excess over the members' mean, and its scores
  are judged as they are (by how they order the members).
- `volatility` (pooled): the outcome is the mean squared daily log return over the next h
  days (a panel holds closes, so the proxy is the squared close-to-close return); the
  network learns its log, standardised per member on training rows, so one network serves
  members whose volatilities differ tenfold; a score becomes a variance on that member's own
  scale, then is calibrated by the member's mean ratio of realised to forecast on the
  validation dates (known before the block), the rule every baseline gets too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from lstmcast.errors import ConfigError
from lstmcast.universe.panel import (
    Panel,
    cross_sectional_z,
    inputs,
    member_scalers,
    panel_target,
    standardise,
)

Samples = tuple[np.ndarray, np.ndarray]
VARIANCE_FLOOR = 1e-10  # a zero squared return would make its log -inf


def squared_returns(panel: Panel) -> np.ndarray:
    """(T, N) each member's squared daily log return: the panel's variance proxy."""
    return np.asarray(panel.returns() ** 2)


def forward_variance(panel: Panel, horizon: int) -> np.ndarray:
    """(T, N) the mean squared daily return over the `horizon` days after t (NaN unless every
    one is known): the variance a forecast made at t's close is judged by."""
    sq = np.where(panel.listed, squared_returns(panel), np.nan)
    out = np.full(sq.shape, np.nan)
    if horizon < len(sq):
        finite = np.isfinite(sq)
        csum = np.cumsum(np.where(finite, sq, 0.0), axis=0)
        known = np.cumsum(finite, axis=0)
        span = csum[horizon:] - csum[:-horizon]
        whole = (known[horizon:] - known[:-horizon]) == horizon
        out[:-horizon] = np.where(whole, span / horizon, np.nan)
    return out


class PanelLearner(Protocol):
    @property
    def name(self) -> str: ...

    def outcome(self, panel: Panel, horizon: int) -> np.ndarray:
        """(T, N) what is realised after each date's close; NaN where unknown."""
        ...

    def inputs(self, panel: Panel, cutoff: int) -> tuple[np.ndarray, tuple[str, ...]]:
        """(T, N, F) float32 inputs, each member's scalers fitted on rows up to `cutoff`."""
        ...

    def learn(self, panel: Panel, outcome: np.ndarray, scale_rows: slice) -> tuple[np.ndarray, Any]:
        """(T, N) what the network is fitted to, scaled with `scale_rows` only, and the scale."""
        ...

    def forecasts(
        self, scale: Any, scores: np.ndarray, test: Samples, val_scores: np.ndarray, val: Samples,
        outcome: np.ndarray,
    ) -> np.ndarray:  # fmt: skip
        """The test samples' forecasts in the outcome's units (validation scores calibrate)."""
        ...


@dataclass(frozen=True)
class CrossSection:
    """`rank` or `excess`: which members do better than the others over the next h days."""

    name: str

    def outcome(self, panel: Panel, horizon: int) -> np.ndarray:
        return panel.forward(horizon)

    def inputs(self, panel: Panel, cutoff: int) -> tuple[np.ndarray, tuple[str, ...]]:
        return inputs(panel, cutoff)

    def learn(self, panel: Panel, outcome: np.ndarray, scale_rows: slice) -> tuple[np.ndarray, Any]:
        return panel_target(self.name, outcome, panel.listed, scale_rows), None

    def forecasts(
        self, scale: Any, scores: np.ndarray, test: Samples, val_scores: np.ndarray, val: Samples,
        outcome: np.ndarray,
    ) -> np.ndarray:  # fmt: skip
        return scores  # judged by how they order the members: their scale is theirs


@dataclass(frozen=True)
class VarianceScale:
    mean: np.ndarray  # (N,) each member's mean log variance on training rows
    sd: np.ndarray  # (N,) and its standard deviation


@dataclass(frozen=True)
class PooledVariance:
    """`volatility` on a universe: one network forecasting every member's h-day variance."""

    name: str = "volatility"

    def outcome(self, panel: Panel, horizon: int) -> np.ndarray:
        return forward_variance(panel, horizon)

    def inputs(self, panel: Panel, cutoff: int) -> tuple[np.ndarray, tuple[str, ...]]:
        r = panel.returns()
        log_sq = np.log(np.maximum(r**2, VARIANCE_FLOOR))
        columns = [standardise(r, cutoff), standardise(log_sq, cutoff), cross_sectional_z(log_sq)]
        return np.stack(columns, axis=-1).astype("float32"), ("return", "log_sq_return", "log_sq_return_cs_z")

    def learn(self, panel: Panel, outcome: np.ndarray, scale_rows: slice) -> tuple[np.ndarray, Any]:
        logv = np.log(np.maximum(np.where(panel.listed, outcome, np.nan), VARIANCE_FLOOR))
        mean, sd = member_scalers(logv, (scale_rows.stop or len(logv)) - 1)
        return (logv - mean) / sd, VarianceScale(mean, sd)

    def forecasts(
        self, scale: Any, scores: np.ndarray, test: Samples, val_scores: np.ndarray, val: Samples,
        outcome: np.ndarray,
    ) -> np.ndarray:  # fmt: skip
        s: VarianceScale = scale
        raw = np.exp(s.mean[test[1]] + s.sd[test[1]] * scores)
        val_raw = np.exp(s.mean[val[1]] + s.sd[val[1]] * val_scores)
        ratio = calibration(outcome[val], val_raw, val[1], len(s.mean))
        return np.asarray(raw * ratio[test[1]])


def calibration(realised: np.ndarray, forecast: np.ndarray, member: np.ndarray, members: int) -> np.ndarray:
    """(N,) each member's QLIKE-optimal scale, mean(realised / forecast), on the calibration
    samples (the pooled one for a member with fewer than 20): one rule for every forecaster."""
    ok = np.isfinite(realised) & np.isfinite(forecast) & (forecast > 0)
    ratio = realised[ok] / forecast[ok]
    pooled = float(ratio.mean()) if len(ratio) else 1.0
    sums = np.bincount(member[ok], weights=ratio, minlength=members)
    counts = np.bincount(member[ok], minlength=members)
    return np.where(counts >= 20, sums / np.maximum(counts, 1), pooled)


LEARNERS: dict[str, PanelLearner] = {
    "rank": CrossSection("rank"),
    "excess": CrossSection("excess"),
    "volatility": PooledVariance(),
}


def learner_of(target: str) -> PanelLearner:
    if target not in LEARNERS:
        raise ConfigError(f"--target {target} is not judged across a universe; choose {', '.join(LEARNERS)}")
    return LEARNERS[target]
