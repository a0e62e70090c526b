"""Variance forecasts: the baselines a network must beat (naive, EWMA, HAR in levels, in logs
and in logs with leverage terms, GARCH) and how forecasts are scored (QLIKE, MSE, Mincer-
Zarnowitz, DM with a HAC variance, the Model Confidence Set, value-at-risk hits, and one
rolling recalibration applied to every forecaster alike).

Everything is in daily variance units on the proxy's own scale. The target at origin t for
horizon h is the mean of the proxy over rows t+1..t+h; every fit uses rows before a cutoff.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from lstmcast.evaluation.intervals import christoffersen, conditional_coverage, ewma_sigma, kupiec
from lstmcast.evaluation.stats import MCS_SIZE, hac_dm, mcs_pvalues, model_confidence_set
from lstmcast.jsonable import number
from lstmcast.runconfig import TRADING_DAYS

HAR_LAGS = (1, 5, 22)  # Corsi (2009): the day, the week, the month
EWMA_LAMBDA = 0.94  # RiskMetrics, daily
VAR_LEVELS = (0.95, 0.99)
VOL_BASELINES = ("naive", "ewma", "har", "har_log", "har_lev", "garch")
HARS = ("har", "har_log", "har_lev")  # in levels, in logs, in logs with leverage terms
BENCHMARK = "har_log"  # pre-specified: the HAR every network is judged against
REFIT_EVERY = 21  # origins between re-estimates of a baseline inside a test block: a month
ArrayOrFloat = TypeVar("ArrayOrFloat", float, np.ndarray)
RECALIBRATION_WINDOW = 250  # realised origins behind each rolling recalibration
RECALIBRATION_MIN = 20  # fewer realised origins than this: no recalibration yet


def annualised(variance: ArrayOrFloat) -> ArrayOrFloat:
    """Daily variance (a number or an array) as annualised volatility in percent: sqrt(252 v) x 100."""
    return np.sqrt(TRADING_DAYS * np.asarray(variance, dtype="float64")) * 100


def trailing_mean(proxy: np.ndarray, k: int) -> np.ndarray:
    """(T,) mean of proxy[t-k+1..t] at each row t; NaN where fewer than k rows exist."""
    c = np.concatenate([[0.0], np.cumsum(np.nan_to_num(proxy))])
    out = np.full(len(proxy), np.nan)
    if len(proxy) >= k:
        out[k - 1 :] = (c[k:] - c[:-k]) / k
    return out


def forward_mean(proxy: np.ndarray, h: int, at: np.ndarray) -> np.ndarray:
    """(N,) mean of proxy[t+1..t+h] for each origin t: what a horizon-h forecast is scored on."""
    c = np.concatenate([[0.0], np.cumsum(proxy)])
    return (c[at + h + 1] - c[at + 1]) / h


# --- Losses and scores -------------------------------------------------------------------


def qlike(forecast: np.ndarray, realised: np.ndarray) -> np.ndarray:
    """Patton's (2011) QLIKE per point: v/f - ln(v/f) - 1 (0 for a perfect forecast). With MSE,
    one of the two losses that rank variance forecasts correctly when the proxy is noisy."""
    ratio = realised / forecast
    return ratio - np.log(ratio) - 1.0


def mz_r2(forecast: np.ndarray, realised: np.ndarray) -> float:
    """R^2 of the Mincer-Zarnowitz regression realised = a + b forecast: how much of the
    proxy's variation the forecast explains (bias aside)."""
    if len(forecast) < 3 or np.ptp(forecast) == 0:
        return math.nan
    return float(np.corrcoef(forecast, realised)[0, 1] ** 2)


@dataclass(frozen=True)
class VolScore:
    qlike: float
    mse: float
    mz_r2: float


def score_variance(forecast: np.ndarray, realised: np.ndarray) -> VolScore:
    return VolScore(
        float(np.mean(qlike(forecast, realised))),
        float(np.mean((forecast - realised) ** 2)),
        mz_r2(forecast, realised),
    )


def dm_qlike(model: np.ndarray, base: np.ndarray, realised: np.ndarray, horizon: int) -> tuple[float, float]:
    """Diebold-Mariano on the QLIKE differential (model minus base): the long-run variance by
    equal-weighted cosines (`stats.hac_dm`), Student t; a negative statistic: the model is better."""
    return hac_dm(qlike(model, realised) - qlike(base, realised), horizon)


@dataclass(frozen=True)
class VarTest:
    """How a 1-day value-at-risk did: its hits (next-day returns below -VaR) and the tests."""

    n: int
    hits: int
    hit_rate: float | None
    kupiec_p: float | None
    christoffersen_p: float | None
    conditional_coverage_p: float | None


def var_tests(hits: np.ndarray, level: float) -> VarTest:
    """How a 1-day value-at-risk at `level` did: its hits (next-day returns below -VaR), with
    Kupiec, Christoffersen and conditional coverage on them."""
    rate = 1 - level
    return VarTest(
        n=len(hits),
        hits=int(hits.sum()),
        hit_rate=float(hits.mean()) if len(hits) else None,
        kupiec_p=_none(kupiec(hits, rate)),
        christoffersen_p=_none(christoffersen(hits)),
        conditional_coverage_p=_none(conditional_coverage(hits, rate)),
    )


@dataclass(frozen=True)
class ForecasterScores:
    """One forecaster's variance scores on the origins every forecaster shares."""

    qlike: float
    mse: float
    mz_r2: float | None  # Mincer-Zarnowitz R^2
    skill_vs_har: float  # against the pre-specified benchmark, log-HAR
    skill_vs_naive: float
    skill_vs: dict[str, float]  # against each HAR and naive
    var: dict[str, VarTest]  # "95", "99"


@dataclass(frozen=True)
class Against:
    """A Diebold-Mariano test of the model against one forecaster."""

    statistic: float | None
    pvalue: float | None


@dataclass(frozen=True)
class RecalibratedScores:
    qlike: float
    skill_vs_har: float
    skill_vs: dict[str, float]


@dataclass(frozen=True)
class Recalibrated:
    """The skill and DM again, every forecaster under one rolling recalibration."""

    window: int
    scores: dict[str, RecalibratedScores]
    dm: dict[str, Against]


@dataclass(frozen=True)
class VolScores:
    """Every forecaster's scores and the tests (`score_all`), computed once; its JSON keeps
    these names."""

    benchmark: str
    scores: dict[str, ForecasterScores]
    dm: dict[str, Against]  # the model against each HAR
    dm_vs_har: Against  # ... against the benchmark
    mcs: list[str]  # the 90% model confidence set
    mcs_size: float
    mcs_pvalues: dict[str, dict[str, float]]  # forecaster -> "range", "max"
    recalibrated: Recalibrated


def var_quantiles(next_return: np.ndarray, one_day: np.ndarray) -> dict[float, float]:
    """Filtered historical simulation with a forecaster's own residuals: the lower 5% and 1%
    quantiles of the next day's return over the square root of its own 1-day variance forecast
    made the day before (training origins only), one per VaR level."""
    z = next_return / np.sqrt(one_day)
    z = z[np.isfinite(z)]
    return {level: float(np.quantile(z, 1 - level)) if len(z) else math.nan for level in VAR_LEVELS}


def own_var_quantiles(
    one_day: dict[str, np.ndarray], next_return: np.ndarray
) -> dict[str, dict[float, float]]:
    """`var_quantiles` of every forecaster, each from its own 1-day forecasts."""
    return {name: var_quantiles(next_return, f) for name, f in one_day.items()}


def score_all(
    forecasts: dict[str, np.ndarray],
    realised: np.ndarray,
    at: np.ndarray,
    horizon: int,
    hits: dict[str, dict[float, np.ndarray]],
    seed: int = 0,
) -> VolScores:
    """The scores of every forecaster on the same origins: QLIKE, MSE, Mincer-Zarnowitz R^2,
    skill against each HAR and naive (`skill_vs_har`: against the pre-specified benchmark,
    log-HAR), VaR hits; DM of "model" against each HAR on QLIKE; the 90% MCS over all of them,
    with every forecaster's MCS p-value by both statistics; and the skill and DM again with
    every forecaster under one rolling recalibration (`recalibrated`), to show how much of a
    result is calibration."""
    each = {name: score_variance(f, realised) for name, f in forecasts.items()}
    skills = _skills({name: s.qlike for name, s in each.items()})
    scores = {
        name: ForecasterScores(
            qlike=s.qlike,
            mse=s.mse,
            mz_r2=_none(s.mz_r2),
            skill_vs_har=skills[name][BENCHMARK],
            skill_vs_naive=skills[name]["naive"],
            skill_vs=skills[name],
            var={f"{lv * 100:g}": var_tests(h, lv) for lv, h in hits[name].items()},
        )
        for name, s in each.items()
    }
    dm = dm_against_hars(forecasts, realised, horizon)
    recal = recalibrated(forecasts, realised, at, horizon)
    recal_qlike = {name: float(np.mean(qlike(f, realised))) for name, f in recal.items()}
    recal_scores = {
        name: RecalibratedScores(recal_qlike[name], skill[BENCHMARK], skill)
        for name, skill in _skills(recal_qlike).items()
    }
    losses = {n: qlike(f, realised) for n, f in forecasts.items()}
    return VolScores(
        benchmark=BENCHMARK,
        scores=scores,
        dm=dm,
        dm_vs_har=dm[BENCHMARK],
        mcs=model_confidence_set(losses, horizon, seed),
        mcs_size=MCS_SIZE,
        mcs_pvalues=mcs_pvalues(losses, horizon, seed),
        recalibrated=Recalibrated(
            RECALIBRATION_WINDOW, recal_scores, dm_against_hars(recal, realised, horizon)
        ),
    )


def _skills(qlikes: dict[str, float]) -> dict[str, dict[str, float]]:
    """Each forecaster's QLIKE skill against each HAR and naive: 1 - its QLIKE over theirs."""
    refs = {n: qlikes[n] for n in (*HARS, "naive")}
    return {name: {n: 1 - q / r for n, r in refs.items()} for name, q in qlikes.items()}


def dm_against_hars(
    forecasts: dict[str, np.ndarray], realised: np.ndarray, horizon: int
) -> dict[str, Against]:
    """DM of "model" against each HAR on QLIKE."""
    dm = {}
    for name in HARS:
        stat, p = dm_qlike(forecasts["model"], forecasts[name], realised, horizon)
        dm[name] = Against(_none(stat), _none(p))
    return dm


def var_hits_of(
    one_day: dict[str, np.ndarray], next_return: np.ndarray, quantiles: dict[str, dict[float, float]]
) -> dict[str, dict[float, np.ndarray]]:
    """Per forecaster and VaR level, the next-day returns below the VaR its own 1-day variance
    forecast implies with its own residuals' quantile (`own_var_quantiles`): whatever scale
    the forecast is on, the quantile was taken on the same one."""
    return {
        name: {lv: next_return < q * np.sqrt(f) for lv, q in quantiles[name].items()}
        for name, f in one_day.items()
    }


def in_sample_one_day(
    proxy: np.ndarray, returns: np.ndarray, lo: int, train_end: int, train_at: np.ndarray
) -> dict[str, np.ndarray]:
    """Every baseline's 1-day variance forecast at the training origins, fitted on those rows
    [lo, train_end): what each baseline's value-at-risk residuals are standardised by."""
    return fitted_baselines(proxy, returns, lo, train_at, train_end, train_at, 1)


def fitted_baselines(
    proxy: np.ndarray,
    returns: np.ndarray,
    lo: int,
    fit_at: np.ndarray,
    fit_end: int,
    at: np.ndarray,
    horizon: int,
) -> dict[str, np.ndarray]:
    """Every baseline fitted once on rows [lo, fit_end) (the HARs on origins `fit_at`, GARCH
    on those returns, EWMA and GARCH put on the proxy's scale by those rows' `proxy_ratio`),
    and its (N,) variance forecasts for origins `at`."""
    floor = float(np.min(proxy[lo:fit_end]))
    ratio = proxy_ratio(proxy, returns, slice(lo, fit_end))
    out = {
        n: har.predict(proxy, at, floor, returns)
        for n, har in fit_hars(proxy, returns, fit_at, horizon).items()
    }
    out["naive"] = naive_variance(proxy, at, horizon)
    out["ewma"] = ewma(returns, at) * ratio
    out["garch"] = garch(returns, fit_end, at, horizon, first=lo) * ratio
    return out


def _none(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


# --- Baselines ---------------------------------------------------------------------------


def har_design(proxy: np.ndarray, at: np.ndarray, log: bool, returns: np.ndarray | None = None) -> np.ndarray:
    """(N, 4) HAR regressors at origins `at`: 1 and the 1-, 5- and 22-day trailing means of the
    proxy (their logs for log-HAR); with `returns`, (N, 7): Corsi & Reno's (2012) leverage terms
    beside them, the 1-, 5- and 22-day trailing means of the negative returns min(r, 0)."""
    cols = [trailing_mean(proxy, k)[at] for k in HAR_LAGS]
    x = np.column_stack(cols)
    parts = [np.ones(len(at)), np.log(x) if log else x]
    if returns is not None:
        down = np.minimum(np.nan_to_num(returns), 0.0)
        parts.append(np.column_stack([trailing_mean(down, k)[at] for k in HAR_LAGS]))
    return np.column_stack(parts)


@dataclass(frozen=True)
class Har:
    """Corsi's HAR fitted by OLS: in levels, or in logs with a multiplicative bias correction
    (a QLIKE-consistent scale, mean(v / exp(fit)), on the training origins); with `leverage`,
    the negative-return terms too (the forecast then needs the returns)."""

    coef: np.ndarray  # (4,), or (7,) with leverage
    log: bool
    scale: float = 1.0
    leverage: bool = False

    def predict(
        self, proxy: np.ndarray, at: np.ndarray, floor: float, returns: np.ndarray | None = None
    ) -> np.ndarray:
        if self.leverage and returns is None:
            raise ValueError("a leverage HAR forecasts from the returns too")
        y = har_design(proxy, at, self.log, returns if self.leverage else None) @ self.coef
        return np.exp(y) * self.scale if self.log else np.maximum(y, floor)

    def to_dict(self) -> dict[str, object]:
        return {"coef": self.coef.tolist(), "log": self.log, "scale": self.scale, "leverage": self.leverage}

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Har:
        coef = np.asarray(d["coef"], dtype="float64")
        return cls(coef, bool(d["log"]), number(d["scale"]), bool(d.get("leverage", False)))


def fit_har(
    proxy: np.ndarray, train_at: np.ndarray, horizon: int, log: bool, returns: np.ndarray | None = None
) -> Har:
    """OLS on training origins only (their h-day targets end before the cutoff); with
    `returns`, the leverage HAR."""
    x = har_design(proxy, train_at, log, returns)
    v = forward_mean(proxy, horizon, train_at)
    y = np.log(v) if log else v
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    if not log:
        return Har(coef, False, leverage=returns is not None)
    fitted = np.exp(x @ coef)
    return Har(coef, True, float(np.mean(v / fitted)), leverage=returns is not None)


def fit_hars(proxy: np.ndarray, returns: np.ndarray, train_at: np.ndarray, horizon: int) -> dict[str, Har]:
    """The three HARs (`HARS`) fitted on the same training origins."""
    return {
        "har": fit_har(proxy, train_at, horizon, log=False),
        "har_log": fit_har(proxy, train_at, horizon, log=True),
        "har_lev": fit_har(proxy, train_at, horizon, log=True, returns=returns),
    }


def refit_chunks(at: np.ndarray, every: int) -> list[np.ndarray]:
    """The test origins `at` in runs of `every` (0: one run): each run's baselines are fitted on
    what is known at its first origin."""
    if every <= 0 or len(at) <= every:
        return [at]
    return [at[i : i + every] for i in range(0, len(at), every)]


def baseline_forecasts(
    proxy: np.ndarray,
    returns: np.ndarray,
    lo: int,
    test_at: np.ndarray,
    horizon: int,
    refit_every: int = REFIT_EVERY,
) -> dict[str, np.ndarray]:
    """Every baseline's (N,) variance forecasts for origins `test_at`, re-estimated every
    `refit_every` origins on all rows from `lo` known at the run's first origin t: HAR on the
    origins whose h-day targets end by row t, GARCH on returns through row t, and EWMA and
    GARCH put on the proxy's scale by the ratio of those rows (`proxy_ratio`)."""
    runs = []
    for chunk in refit_chunks(test_at, refit_every):
        first = int(chunk[0])
        fit_at = np.arange(lo + HAR_LAGS[-1] - 1, first - horizon + 1)
        runs.append(fitted_baselines(proxy, returns, lo, fit_at, first + 1, chunk, horizon))
    return {n: np.concatenate([run[n] for run in runs]) for n in VOL_BASELINES}


def rolling_scale(forecast: np.ndarray, realised: np.ndarray, at: np.ndarray, horizon: int) -> np.ndarray:
    """(N,) the QLIKE-optimal scale mean(v / f) of each origin's last `RECALIBRATION_WINDOW`
    origins whose targets are realised by then (at_j + h <= at_i), 1 before `RECALIBRATION_MIN`
    of them exist. Leak-free: no target ends after the origin it recalibrates."""
    ratio = np.concatenate([[0.0], np.cumsum(realised / forecast)])
    known = np.searchsorted(at, at - horizon, side="right")  # origins j < known[i] are realised
    start = np.maximum(known - RECALIBRATION_WINDOW, 0)
    count = known - start
    mean = (ratio[known] - ratio[start]) / np.maximum(count, 1)
    return np.where(count >= RECALIBRATION_MIN, mean, 1.0)


def recalibrated(
    forecasts: dict[str, np.ndarray], realised: np.ndarray, at: np.ndarray, horizon: int
) -> dict[str, np.ndarray]:
    """Every forecaster under one rule: each forecast times its own rolling scale (`rolling_scale`)."""
    return {n: f * rolling_scale(f, realised, at, horizon) for n, f in forecasts.items()}


def naive_variance(proxy: np.ndarray, at: np.ndarray, horizon: int) -> np.ndarray:
    """The proxy's own mean over the last h days: tomorrow's h days look like the last h."""
    return trailing_mean(proxy, horizon)[at]


def proxy_ratio(proxy: np.ndarray, returns: np.ndarray, rows: slice) -> float:
    """Mean proxy over mean squared close-to-close return on `rows` (training rows): the factor
    that puts a close-to-close variance forecast on the proxy's scale."""
    sq = np.mean(returns[rows] ** 2)
    return float(np.mean(proxy[rows]) / sq) if sq > 0 else 1.0


def ewma(returns: np.ndarray, at: np.ndarray) -> np.ndarray:
    """RiskMetrics (lambda 0.94) variance of close-to-close returns known at each origin, flat
    over the horizon (close-to-close scale)."""
    return ewma_sigma(returns, lam=EWMA_LAMBDA, shrink=0.0)[at] ** 2


def garch(returns: np.ndarray, train_end: int, at: np.ndarray, horizon: int, first: int = 0) -> np.ndarray:
    """GARCH(1,1) with Student-t errors (arch), fitted on returns of rows [first, train_end), then
    filtered with those parameters through each origin; the mean of its h-step variance path
    (close-to-close scale). Returns are scaled by 100 for the optimiser."""
    from arch import arch_model

    r = 100 * np.nan_to_num(returns)
    model = arch_model(r[: int(at.max()) + 1], vol="GARCH", p=1, q=1, dist="t", mean="Zero")
    with warnings.catch_warnings():  # convergence chatter on short or calm samples
        warnings.simplefilter("ignore")
        fitted = model.fit(first_obs=first, last_obs=train_end, disp="off", show_warning=False)
        path = fitted.forecast(horizon=horizon, start=int(at.min()), reindex=False).variance.to_numpy()
    rows = at - int(at.min())  # the forecast table starts at the first origin
    return path[rows].mean(axis=1) / 1e4
