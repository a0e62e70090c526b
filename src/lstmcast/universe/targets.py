"""What a network learns across a universe: one `PanelLearner` per target, the one place a
target's name picks what differs on a panel.

A learner owns four things: what is realised at each (date, member) (`outcome`), the
inputs the network reads (`inputs`, each member's scaler fitted up to a cutoff, or saved),
what the network is fitted to (`learn`, scaled on rows before a cutoff only), and how its
scores become forecasts in the outcome's units (`readout`, fitted on validation dates, and
saved with a trained network so that a live forecast reads its scores as the backtest did).
The walk-forward, the folds, the fit, the saved model and the workers are shared and never
ask which learner they hold.

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
    Scalers,
    cross_sectional_z,
    member_scalers,
    panel_target,
    scale_with,
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


class Readout(Protocol):
    """How a fitted network's scores become forecasts in the outcome's units."""

    def apply(self, scores: np.ndarray, members: np.ndarray) -> np.ndarray:
        """The forecasts of `scores`, each the score of member `members[i]`."""
        ...

    def to_dict(self, tickers: tuple[str, ...]) -> dict[str, object]:
        """What a saved network keeps of it, per member by name."""
        ...


class PanelLearner(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def picks(self) -> bool:
        """Whether a forecast picks long and short members (a ranking) or forecasts each."""
        ...

    def outcome(self, panel: Panel, horizon: int) -> np.ndarray:
        """(T, N) what is realised after each date's close; NaN where unknown."""
        ...

    def inputs(
        self, panel: Panel, cutoff: int, saved: Scalers | None = None
    ) -> tuple[np.ndarray, tuple[str, ...], Scalers]:
        """(T, N, F) float32 inputs, their names and each member's scalers: `saved` ones where
        a member has them, else fitted on its rows up to `cutoff`."""
        ...

    def learn(
        self, panel: Panel, outcome: np.ndarray, scale_rows: slice
    ) -> tuple[np.ndarray, VarianceScale | None]:
        """(T, N) what the network is fitted to, scaled with `scale_rows` only, and the scale."""
        ...

    def readout(
        self, scale: VarianceScale | None, val_scores: np.ndarray, val: Samples, outcome: np.ndarray
    ) -> Readout:
        """How scores become forecasts, from the learned scale and the validation samples'
        scores against their outcomes (known before the block it serves)."""
        ...

    def saved_readout(self, doc: dict[str, Any], panel: Panel, horizon: int, at: int) -> Readout:
        """A saved network's readout for `panel`'s members; a member it never saw gets one
        from its own outcomes known at row `at`."""
        ...


def forecasts_of(
    learner: PanelLearner, scale: VarianceScale | None, scores: np.ndarray, test: Samples,
    val_scores: np.ndarray, val: Samples, outcome: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """The test samples' forecasts in the outcome's units (validation scores calibrate)."""
    return learner.readout(scale, val_scores, val, outcome).apply(scores, test[1])


@dataclass(frozen=True)
class AsScored:
    """A ranking's scores are judged as they are: by how they order the members."""

    def apply(self, scores: np.ndarray, members: np.ndarray) -> np.ndarray:
        return scores

    def to_dict(self, tickers: tuple[str, ...]) -> dict[str, object]:
        return {}


@dataclass(frozen=True)
class CrossSection:
    """`rank` or `excess`: which members do better than the others over the next h days."""

    name: str
    picks: bool = True

    def outcome(self, panel: Panel, horizon: int) -> np.ndarray:
        return panel.forward(horizon)

    def inputs(
        self, panel: Panel, cutoff: int, saved: Scalers | None = None
    ) -> tuple[np.ndarray, tuple[str, ...], Scalers]:
        values, used = scale_with(panel.returns(), cutoff, (saved or {}).get("return"))
        return values[..., None].astype("float32"), ("return",), {"return": used}

    def learn(
        self, panel: Panel, outcome: np.ndarray, scale_rows: slice
    ) -> tuple[np.ndarray, VarianceScale | None]:
        return panel_target(self.name, outcome, panel.listed, scale_rows), None

    def readout(
        self, scale: VarianceScale | None, val_scores: np.ndarray, val: Samples, outcome: np.ndarray
    ) -> Readout:
        return AsScored()

    def saved_readout(self, doc: dict[str, Any], panel: Panel, horizon: int, at: int) -> Readout:
        return AsScored()


@dataclass(frozen=True)
class VarianceScale:
    mean: np.ndarray  # (N,) each member's mean log variance on training rows
    sd: np.ndarray  # (N,) and its standard deviation


@dataclass(frozen=True)
class VarianceReadout:
    """A score is a member's standardised log variance: back on its own scale, then times its
    calibration ratio (the pooled one for a member with too few validation samples)."""

    mean: np.ndarray  # (N,)
    sd: np.ndarray  # (N,)
    ratio: np.ndarray  # (N,)
    pooled: float  # the ratio over every member: a member the network never saw gets it

    def apply(self, scores: np.ndarray, members: np.ndarray) -> np.ndarray:
        return np.asarray(np.exp(self.mean[members] + self.sd[members] * scores) * self.ratio[members])

    def to_dict(self, tickers: tuple[str, ...]) -> dict[str, object]:
        def num(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        return {
            "pooled_ratio": self.pooled,
            "members": {
                t: {"log_var_mean": num(m), "log_var_sd": num(v), "ratio": num(r)}
                for t, m, v, r in zip(tickers, self.mean, self.sd, self.ratio, strict=True)
            },
        }


@dataclass(frozen=True)
class PooledVariance:
    """`volatility` on a universe: one network forecasting every member's h-day variance."""

    name: str = "volatility"
    picks: bool = False

    def outcome(self, panel: Panel, horizon: int) -> np.ndarray:
        return forward_variance(panel, horizon)

    def inputs(
        self, panel: Panel, cutoff: int, saved: Scalers | None = None
    ) -> tuple[np.ndarray, tuple[str, ...], Scalers]:
        r = panel.returns()
        log_sq = np.log(np.maximum(r**2, VARIANCE_FLOOR))
        got = saved or {}
        ret, ret_used = scale_with(r, cutoff, got.get("return"))
        lsq, lsq_used = scale_with(log_sq, cutoff, got.get("log_sq_return"))
        columns = [ret, lsq, cross_sectional_z(log_sq)]
        names = ("return", "log_sq_return", "log_sq_return_cs_z")
        return (np.stack(columns, axis=-1).astype("float32"), names,
                {"return": ret_used, "log_sq_return": lsq_used})  # fmt: skip

    def learn(
        self, panel: Panel, outcome: np.ndarray, scale_rows: slice
    ) -> tuple[np.ndarray, VarianceScale | None]:
        return self._learned(panel, outcome, scale_rows)

    def _learned(
        self, panel: Panel, outcome: np.ndarray, scale_rows: slice
    ) -> tuple[np.ndarray, VarianceScale]:
        logv = np.log(np.maximum(np.where(panel.listed, outcome, np.nan), VARIANCE_FLOOR))
        mean, sd = member_scalers(logv, (scale_rows.stop or len(logv)) - 1)
        return (logv - mean) / sd, VarianceScale(mean, sd)

    def readout(
        self, scale: VarianceScale | None, val_scores: np.ndarray, val: Samples, outcome: np.ndarray
    ) -> Readout:
        assert scale is not None, "a variance learner always learns its scale"
        s = scale
        val_raw = np.exp(s.mean[val[1]] + s.sd[val[1]] * val_scores)
        ratio, pooled = calibration_of(outcome[val], val_raw, val[1], len(s.mean))
        return VarianceReadout(s.mean, s.sd, ratio, pooled)

    def saved_readout(self, doc: dict[str, Any], panel: Panel, horizon: int, at: int) -> Readout:
        known = max(at - horizon, 0)  # the last row whose h-day outcome is known at `at`
        _, own = self._learned(panel, self.outcome(panel, horizon), slice(0, known + 1))
        saved = doc.get("members", {})
        pooled = float(doc.get("pooled_ratio") or 1.0)

        def each(key: str, instead: np.ndarray) -> np.ndarray:
            got = [saved.get(t, {}).get(key) for t in panel.tickers]
            return np.array([instead[i] if g is None else float(g) for i, g in enumerate(got)])

        ratio = each("ratio", np.full(len(panel.tickers), pooled))
        return VarianceReadout(each("log_var_mean", own.mean), each("log_var_sd", own.sd), ratio, pooled)


def calibration_of(
    realised: np.ndarray, forecast: np.ndarray, member: np.ndarray, members: int
) -> tuple[np.ndarray, float]:
    """(N,) each member's QLIKE-optimal scale, mean(realised / forecast), on the calibration
    samples (the pooled one for a member with fewer than 20), and the pooled one: one rule for
    every forecaster."""
    ok = np.isfinite(realised) & np.isfinite(forecast) & (forecast > 0)
    ratio = realised[ok] / forecast[ok]
    pooled = float(ratio.mean()) if len(ratio) else 1.0
    sums = np.bincount(member[ok], weights=ratio, minlength=members)
    counts = np.bincount(member[ok], minlength=members)
    return np.where(counts >= 20, sums / np.maximum(counts, 1), pooled), pooled


def calibration(realised: np.ndarray, forecast: np.ndarray, member: np.ndarray, members: int) -> np.ndarray:
    """(N,) each member's calibration ratio (`calibration_of`)."""
    return calibration_of(realised, forecast, member, members)[0]


LEARNERS: dict[str, PanelLearner] = {
    "rank": CrossSection("rank"),
    "excess": CrossSection("excess"),
    "volatility": PooledVariance(),
}


def learner_of(target: str) -> PanelLearner:
    if target not in LEARNERS:
        raise ConfigError(f"--target {target} is not judged across a universe; choose {', '.join(LEARNERS)}")
    return LEARNERS[target]
