"""Many comparisons make luck look like skill: p-value adjustments and the deflated Sharpe ratio.

- Benjamini & Hochberg (1995): adjusted p-values controlling the false discovery rate.
- Holm (1979): adjusted p-values controlling the family-wise error rate.
- Bailey & Lopez de Prado (2014): the probability that a Sharpe ratio is above what the best
  of N unskilled trials would show by chance, given its sample length, skew and kurtosis.
- Bailey, Borwein, Lopez de Prado & Zhu (2017): the probability of backtest overfitting,
  by combinatorially symmetric cross-validation (CSCV) over a trials x time matrix.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EULER_GAMMA = 0.5772156649015329


def _clean(pvalues: Sequence[float | None]) -> tuple[np.ndarray, np.ndarray]:
    p = np.array([np.nan if v is None else v for v in pvalues], dtype="float64")
    return p, np.flatnonzero(np.isfinite(p))


def _adjusted(pvalues: Sequence[float | None], step: str) -> list[float | None]:
    """Adjusted p-values of the defined inputs (None stays None and does not count as a test).
    BH ("up"): p_(i) m / i, made monotone from the largest down; Holm ("down"): p_(i) (m - i + 1),
    made monotone from the smallest up; both capped at 1."""
    p, ok = _clean(pvalues)
    out: list[float | None] = [None] * len(p)
    m = len(ok)
    if not m:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    rank = np.arange(1, m + 1)
    if step == "up":
        adjusted = np.minimum.accumulate((p[order] * m / rank)[::-1])[::-1]
    else:
        adjusted = np.maximum.accumulate(p[order] * (m - rank + 1))
    for i, v in zip(order, adjusted.clip(max=1.0), strict=True):
        out[int(i)] = float(v)
    return out


def benjamini_hochberg(pvalues: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg step-up adjusted p-values: control of the false discovery rate."""
    return _adjusted(pvalues, "up")


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm step-down adjusted p-values: control of the family-wise error rate."""
    return _adjusted(pvalues, "down")


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """SR0: the Sharpe ratio the best of `n_trials` unskilled trials reaches by luck alone
    (per-period units), from the variance of the trials' Sharpe ratios."""
    if n_trials < 2 or sharpe_variance <= 0:
        return 0.0
    from scipy.special import ndtri as z  # the normal quantile; scipy costs 0.2 s to import

    return math.sqrt(sharpe_variance) * (
        (1 - EULER_GAMMA) * z(1 - 1 / n_trials) + EULER_GAMMA * z(1 - 1 / (n_trials * math.e))
    )


def per_period_sharpe(returns: np.ndarray | Sequence[float]) -> float:
    """Mean over standard deviation of per-period returns (NaN for fewer than 3, or no spread)."""
    r = np.asarray(returns, dtype="float64")
    return float(r.mean() / r.std(ddof=1)) if len(r) > 2 and r.std(ddof=1) > 0 else math.nan


@dataclass(frozen=True)
class SharpeMoments:
    """What the deflated Sharpe needs of a return series, kept without the series: a trial
    recorded by one run is deflated for, or counted by, a later one."""

    sr: float  # per period
    t: int
    skew: float
    kurt: float  # non-excess

    @classmethod
    def of(cls, returns: np.ndarray | Sequence[float]) -> SharpeMoments | None:
        r = np.asarray(returns, dtype="float64")
        r = r[np.isfinite(r)]
        if len(r) < 3 or r.std(ddof=1) == 0:
            return None
        c = r - r.mean()
        m2 = float(np.mean(c**2))
        return cls(float(r.mean() / r.std(ddof=1)), len(r), float(np.mean(c**3)) / m2**1.5,
                   float(np.mean(c**4)) / m2**2)  # fmt: skip

    def deflated(self, n_trials: int, sharpe_variance: float) -> float | None:
        return deflated_sharpe_of(self.sr, self.t, self.skew, self.kurt, n_trials, sharpe_variance)


def deflated_sharpe(returns: np.ndarray, n_trials: int, sharpe_variance: float) -> float | None:
    """Probability that the true Sharpe ratio of `returns` (per period) exceeds SR0, the best
    of `n_trials` lucky ones, correcting for non-normal returns (skew, kurtosis). Aim it at a
    Sharpe ratio that was selected: the best of the trials, in the sample it was chosen on."""
    moments = SharpeMoments.of(returns)
    return None if moments is None else moments.deflated(n_trials, sharpe_variance)


def probabilistic_sharpe(returns: np.ndarray) -> float | None:
    """Bailey & Lopez de Prado's probabilistic Sharpe ratio against zero: the probability that
    the true Sharpe ratio of `returns` is positive, skew and kurtosis counted. What returns no
    choice has seen (a tune's outer blocks) are tested with: nothing to deflate for."""
    return deflated_sharpe(returns, 1, 0.0)


def deflated_sharpe_of(
    sr: float, t: int, skew: float, kurt: float, n_trials: int, sharpe_variance: float
) -> float | None:
    """DSR from a per-period Sharpe ratio `sr` over `t` returns with that skew and (non-excess)
    kurtosis: Phi((SR - SR0) sqrt(T - 1) / sqrt(1 - skew SR + (kurt - 1) / 4 SR^2))."""
    sr0 = expected_max_sharpe(n_trials, sharpe_variance)
    denom = 1 - skew * sr + (kurt - 1) / 4 * sr**2
    if denom <= 0 or t < 2:
        return None
    from scipy.special import ndtr

    return float(ndtr((sr - sr0) * math.sqrt(t - 1) / math.sqrt(denom)))


@dataclass(frozen=True)
class Overfitting:
    """CSCV's answer: the probability of backtest overfitting, over `splits` in/out splits."""

    pbo: float  # share of splits where the in-sample best is below the out-of-sample median
    splits: int
    logits: tuple[float, ...]  # per split: log(w / (1 - w)), w the best's relative rank out of sample


def backtest_overfitting(performance: np.ndarray, blocks: int = 8) -> Overfitting | None:
    """PBO by CSCV. `performance` is (T, N): per period (rows, in time order), a score of each
    of N trials, higher better (a return, or a baseline's loss minus the trial's). The rows
    are cut into `blocks` equal consecutive blocks (the last rows that do not fill a block are
    dropped); each half of the blocks in turn is the in-sample set and the other half the
    out-of-sample set. In each split the trial with the best in-sample mean is ranked among
    all trials by its out-of-sample mean; PBO is the share of splits in which it ranks at or
    below the median (logit <= 0). None with fewer than two trials or too few rows."""
    m = np.asarray(performance, dtype="float64")
    if m.ndim != 2 or m.shape[1] < 2 or blocks < 2 or blocks % 2 or m.shape[0] < blocks:
        return None
    size = m.shape[0] // blocks
    means = m[: size * blocks].reshape(blocks, size, m.shape[1]).mean(axis=1)  # (blocks, N)
    n = m.shape[1]
    from scipy.stats import rankdata  # 0.5 s to import: only where PBO is computed

    logits = []
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        inside = np.zeros(blocks, dtype=bool)
        inside[list(chosen)] = True
        best = int(np.argmax(means[inside].mean(axis=0)))
        rank = rankdata(means[~inside].mean(axis=0))[best]  # 1 = worst, n = best; ties averaged
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
    pbo = float(np.mean([x <= 0 for x in logits]))
    return Overfitting(pbo, len(logits), tuple(logits))
