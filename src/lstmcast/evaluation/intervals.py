"""Forecast intervals that follow volatility, and how a risk desk scores them.

Everything here works in log-return units around the forecast (log(bound / forecast price)),
so a score is comparable across tickers and price levels.

- `ewma_sigma`: RiskMetrics volatility from returns up to each row (lambda 0.94).
- Four interval methods from past out-of-sample errors: `empirical`; `scaled` (errors over
  the EWMA volatility at their origin); `aci` (scaled, plus adaptive conformal inference);
  `vol` (errors over the volatility log-HAR forecast on the daily range proxy at their
  origin, plus ACI: the volatility target driving the return intervals).
- Scores: coverage (overall and by ex-ante volatility tercile), width, Winkler, pinball,
  Kupiec proportion of failures, Christoffersen independence and their sum, the
  conditional-coverage test (chi2, 2 degrees of freedom).
- Bounds are conformal: a side the errors so far cannot bound is infinite, never clipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lstmcast.jsonable import to_jsonable
from lstmcast.runconfig import INTERVAL_METHODS

METHODS = INTERVAL_METHODS
ADAPTIVE = ("aci", "vol")  # the methods ACI steers
EWMA_LAMBDA = 0.94  # RiskMetrics, daily data: a half-life of about 11 days
EWMA_WARMUP = 20  # the first variance is the mean square of this many returns
# Weight of the long-run variance (the mean square of all returns so far) mixed into the EWMA
# variance: volatility reverts to its mean, as GARCH(1,1) says, and plain EWMA overreacts to
# a spike and underreacts to calm. Measured on the sample tickers (benchmarks/bench_intervals.py):
# the calm-to-turbulent coverage spread falls from about 10 points (0) to about 3 (0.3).
EWMA_SHRINK = 0.3
# ACI (Gibbs & Candes 2021) with a fixed step: the value their stock experiment used. The
# long-run miss rate converges to the target for any step; 0.005 adapts over ~200 bars.
ACI_GAMMA = 0.005
ACI_CLIP = (1e-3, 0.5)  # the miss rate an interval aims at stays here: never infinite, never empty


def ewma_sigma(
    returns: np.ndarray, lam: float = EWMA_LAMBDA, shrink: float = EWMA_SHRINK, warmup: int = EWMA_WARMUP
) -> np.ndarray:
    """sigma[t] from returns[0..t] only: the volatility forecast for t+1 made at t's close.

    ewma[t] = lam * ewma[t-1] + (1 - lam) * r[t]^2 (RiskMetrics), started at the mean square of
    the first `warmup` returns; then var[t] = (1 - shrink) * ewma[t] + shrink * mean(r[0..t]^2).
    """
    r = np.nan_to_num(np.asarray(returns, dtype="float64"))
    var = np.empty(len(r))
    if not len(r):
        return var
    running = np.cumsum(r**2) / np.arange(1, len(r) + 1)
    k = min(warmup, len(r))
    var[:k] = running[:k]
    sq = r**2
    for t in range(k, len(r)):  # ~30 ms for 100k bars; scipy.signal would cost 50 MB to import
        var[t] = lam * var[t - 1] + (1 - lam) * sq[t]
    var = (1 - shrink) * var + shrink * running
    return np.sqrt(np.maximum(var, 1e-16))


def quantile_pair(scores: np.ndarray, alpha: float) -> tuple[float, float]:
    """Lower and upper conformal quantiles of `scores` for miss rate `alpha`, no symmetry assumed:
    the finite-sample (n+1) corrected levels alpha/2 and 1 - alpha/2.

    The lower bound is the floor((n+1) alpha/2)-th smallest score and the upper the
    ceil((n+1)(1 - alpha/2))-th; when that rank falls outside 1..n the bound is infinite, as
    the coverage guarantee requires (19 scores cannot bound a 95% interval: (1, 19) would
    cover only 18/20 of exchangeable outcomes). ACI drives alpha towards 0 after misses, so a
    pool of under 2 / alpha scores gives an unbounded side.
    """
    s = np.sort(scores[np.isfinite(scores)])
    n = len(s)
    # 1e-9: the level 1 - 0.8 is 0.19999999999999996 in floats, and 20 * 0.1 must be rank 2.
    k_lo = math.floor((n + 1) * alpha / 2 + 1e-9)
    k_hi = math.ceil((n + 1) * (1 - alpha / 2) - 1e-9)
    lo = float(s[k_lo - 1]) if k_lo >= 1 else -math.inf
    hi = float(s[k_hi - 1]) if k_hi <= n else math.inf
    return lo, hi


def aci_update(alpha_t: float, target: float, missed: bool, gamma: float = ACI_GAMMA) -> float:
    """One ACI step: alpha_{t+1} = alpha_t + gamma * (target - err_t), clipped so that the
    interval never becomes infinite (alpha <= 0) or vanishes."""
    return float(np.clip(alpha_t + gamma * (target - float(missed)), *ACI_CLIP))


# --- Scores -------------------------------------------------------------------------------


def winkler(lower: np.ndarray, upper: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """Winkler (interval) score per point: width, plus 2/alpha times the distance outside."""
    return (upper - lower) + (2 / alpha) * (np.maximum(lower - y, 0) + np.maximum(y - upper, 0))


def pinball(q: np.ndarray, y: np.ndarray, tau: float) -> float:
    """Mean pinball (quantile) loss of the tau-quantile forecasts q."""
    d = y - q
    return float(np.mean(np.maximum(tau * d, (tau - 1) * d)))


def xlogy(x: float, y: float) -> float:
    """x * log(y), taken as 0 when x is 0 (the likelihood of an event that never happened)."""
    return 0.0 if x == 0 else x * math.log(y)


def chdtrc(lr: float) -> float:
    """Upper tail of the chi-squared distribution with 1 degree of freedom: erfc(sqrt(lr/2)).
    Closed form, so forecasting does not import scipy (0.2 s) for it."""
    return math.erfc(math.sqrt(max(lr, 0.0) / 2)) if math.isfinite(lr) else math.nan


def kupiec(misses: np.ndarray, p: float) -> float:
    """Kupiec's proportion-of-failures test: is the miss rate p? LR ~ chi2(1); the p-value."""
    return chdtrc(kupiec_lr(misses, p))


def kupiec_lr(misses: np.ndarray, p: float) -> float:
    n, x = len(misses), int(np.sum(misses))
    if n == 0:
        return math.nan
    phat = x / n
    return -2 * (xlogy(n - x, 1 - p) + xlogy(x, p) - xlogy(n - x, 1 - phat) - xlogy(x, phat))


def christoffersen(misses: np.ndarray) -> float:
    """Christoffersen's independence test: does a miss make the next one likelier? chi2(1) p-value."""
    return chdtrc(christoffersen_lr(misses))


def christoffersen_lr(misses: np.ndarray) -> float:
    m = np.asarray(misses, dtype=bool)
    if len(m) < 2:
        return math.nan
    prev, nxt = m[:-1], m[1:]
    n00 = int(np.sum(~prev & ~nxt))
    n01 = int(np.sum(~prev & nxt))
    n10 = int(np.sum(prev & ~nxt))
    n11 = int(np.sum(prev & nxt))
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    pi0 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi1 = n11 / (n10 + n11) if n10 + n11 else 0.0
    return -2 * (
        xlogy(n00 + n10, 1 - pi)
        + xlogy(n01 + n11, pi)
        - xlogy(n00, 1 - pi0)
        - xlogy(n01, pi0)
        - xlogy(n10, 1 - pi1)
        - xlogy(n11, pi1)
    )


def _none(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def conditional_coverage(misses: np.ndarray, p: float) -> float:
    """Christoffersen's conditional-coverage test: Kupiec's and the independence test's
    likelihood ratios added, chi2 with 2 degrees of freedom (upper tail exp(-x/2)); the p-value."""
    lr = kupiec_lr(misses, p) + christoffersen_lr(misses)
    return math.exp(-max(lr, 0.0) / 2) if math.isfinite(lr) else math.nan


@dataclass(frozen=True)
class VarTests:
    """Tests of a run of misses with miss rate p: how many (Kupiec), in clusters
    (Christoffersen), both (conditional coverage)."""

    kupiec_p: float | None
    christoffersen_p: float | None
    conditional_coverage_p: float | None


def _var_tests(misses: np.ndarray, p: float) -> VarTests:
    return VarTests(
        _none(kupiec(misses, p)), _none(christoffersen(misses)), _none(conditional_coverage(misses, p))
    )


@dataclass(frozen=True)
class TailScores:
    """One side of an interval read as a value-at-risk forecast: its miss rate and tests."""

    miss_rate: float | None
    kupiec_p: float | None
    christoffersen_p: float | None
    conditional_coverage_p: float | None


@dataclass(frozen=True)
class IntervalScores:
    """How one level's intervals did (`score_intervals`); its JSON keeps these names."""

    n: int
    unbounded: int  # intervals with a side too few errors could bound
    coverage: float | None
    coverage_by_vol_tercile: list[float | None]  # calm, middle, turbulent
    width: float | None
    winkler: float | None
    pinball_lower: float | None
    pinball_upper: float | None
    kupiec_p: float | None
    christoffersen_p: float | None
    conditional_coverage_p: float | None
    tests_by_vol_tercile: list[VarTests]
    tails: dict[str, TailScores]  # "lower", "upper"


@dataclass(frozen=True)
class IntervalReport:
    """The one-step intervals of a walk-forward (or a ledger) at each level, by label ("80")."""

    method: str
    levels: dict[str, IntervalScores]

    def to_json(self) -> dict[str, object]:
        return {"method": self.method, **to_jsonable(self.levels)}


def score_intervals(
    lower: np.ndarray, upper: np.ndarray, y: np.ndarray, sigma: np.ndarray, level: float
) -> IntervalScores:
    """How one level's intervals did: coverage (overall, by ex-ante volatility tercile), width,
    Winkler, pinball of each bound, Kupiec, Christoffersen and conditional coverage on the
    misses (overall, per tercile, and per tail, each tail a value-at-risk forecast with miss
    rate (1 - level) / 2).

    An unbounded side (+-inf, too few errors to bound it) always covers. Width, Winkler and
    pinball are means over the bounded intervals only (an infinite one has an infinite
    score); `unbounded` counts the others. Per tercile, the tests run on that tercile's
    origins in time order.
    """
    alpha = 1 - level
    ok = ~np.isnan(lower) & ~np.isnan(upper) & np.isfinite(y)
    lower, upper, y, sigma = lower[ok], upper[ok], y[ok], sigma[ok]
    below, above = y < lower, y > upper
    miss = below | above
    bounded = np.isfinite(lower) & np.isfinite(upper)
    lb, ub, yb = lower[bounded], upper[bounded], y[bounded]
    nb = len(yb)
    edges = np.quantile(sigma, [1 / 3, 2 / 3]) if len(sigma) else [0, 0]
    tercile = np.searchsorted(edges, sigma, side="right")  # 0 calm, 1 middle, 2 turbulent
    by_vol = [_none(float(np.mean(~miss[tercile == k]))) if np.any(tercile == k) else None for k in range(3)]

    def tail(misses: np.ndarray) -> TailScores:
        tests = _var_tests(misses, alpha / 2)
        rate = _none(float(np.mean(misses))) if len(y) else None
        return TailScores(rate, tests.kupiec_p, tests.christoffersen_p, tests.conditional_coverage_p)

    overall = _var_tests(miss, alpha)
    return IntervalScores(
        n=len(y),
        unbounded=int(len(y) - nb),
        coverage=_none(float(np.mean(~miss))) if len(y) else None,
        coverage_by_vol_tercile=by_vol,
        width=_none(float(np.mean(ub - lb))) if nb else None,
        winkler=_none(float(np.mean(winkler(lb, ub, yb, alpha)))) if nb else None,
        pinball_lower=_none(pinball(lb, yb, alpha / 2)) if nb else None,
        pinball_upper=_none(pinball(ub, yb, 1 - alpha / 2)) if nb else None,
        kupiec_p=overall.kupiec_p,
        christoffersen_p=overall.christoffersen_p,
        conditional_coverage_p=overall.conditional_coverage_p,
        tests_by_vol_tercile=[_var_tests(miss[tercile == k], alpha) for k in range(3)],
        tails={"lower": tail(below), "upper": tail(above)},
    )


# --- Online intervals over a walk-forward ---------------------------------------------------


@dataclass
class OnlineIntervals:
    """Bounds (log units around each forecast) for every origin, step and level, each made
    from errors already realised at that origin only."""

    method: str
    levels: tuple[float, ...]
    lower: dict[float, np.ndarray] = field(default_factory=dict)  # level -> (N, H)
    upper: dict[float, np.ndarray] = field(default_factory=dict)
    alpha_path: dict[float, np.ndarray] = field(default_factory=dict)  # aci: the miss rate aimed at, (N, H)


def online_intervals(
    origins: np.ndarray,
    errors: np.ndarray,
    sigma: np.ndarray,
    seed_errors: np.ndarray,
    seed_sigma: np.ndarray,
    method: str,
    levels: tuple[float, ...],
    gamma: float = ACI_GAMMA,
) -> OnlineIntervals:
    """Walk the origins in time order; at each, build the interval of every step from the seed
    errors (out of sample, before the first origin) and the errors of earlier origins whose
    outcome is already known (origin + step <= this origin), then let ACI learn from each
    outcome as it arrives.

    origins (N,) rows, increasing; errors (N, H) log(actual / forecast), NaN where unknown;
    sigma (N,) the volatility the method scales by at each origin (EWMA, or HAR's for `vol`);
    seed_errors (M, H) and seed_sigma (M,) alike.
    """
    if method not in METHODS:
        raise ValueError(f"unknown interval method {method!r}")
    n, h = errors.shape
    scaled = method != "empirical"
    adaptive = method in ADAPTIVE
    pool_seed = seed_errors / seed_sigma[:, None] if scaled else seed_errors
    own = errors / sigma[:, None] if scaled else errors
    out = OnlineIntervals(method, levels)
    for level in levels:
        out.lower[level] = np.full((n, h), np.nan)
        out.upper[level] = np.full((n, h), np.nan)
        out.alpha_path[level] = np.full((n, h), np.nan)
    alpha_t = {(lv, k): 1 - lv for lv in levels for k in range(h)}
    # Outcomes in the order they become known: (row known, origin index, step).
    arrivals = sorted(
        (int(origins[i]) + k + 1, i, k) for i in range(n) for k in range(h) if np.isfinite(errors[i, k])
    )
    next_arrival = 0
    known: list[list[float]] = [[] for _ in range(h)]
    for i in range(n):
        t = int(origins[i])
        while next_arrival < len(arrivals) and arrivals[next_arrival][0] <= t:
            _, j, k = arrivals[next_arrival]
            known[k].append(own[j, k])
            if adaptive:
                for level in levels:
                    lo, hi = out.lower[level][j, k], out.upper[level][j, k]
                    missed = not (lo <= errors[j, k] <= hi)
                    alpha_t[level, k] = aci_update(alpha_t[level, k], 1 - level, missed, gamma)
            next_arrival += 1
        scale = sigma[i] if scaled else 1.0
        for k in range(h):
            pool = np.concatenate([pool_seed[:, k], np.asarray(known[k])])
            for level in levels:
                a = alpha_t[level, k] if adaptive else 1 - level
                q_lo, q_hi = quantile_pair(pool, a)
                out.lower[level][i, k] = q_lo * scale
                out.upper[level][i, k] = q_hi * scale
                out.alpha_path[level][i, k] = a
    return out
