"""Panel statistics on synthetic panels whose truth is known: IC, portfolios, pooled tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from lstmcast.evaluation.panel import daily_ic, ic_summary, per_ticker_dm, pooled_dm, portfolio
from lstmcast.evaluation.panel_baselines import baseline_scores, momentum, reversal
from lstmcast.evaluation.stats import newey_west_t
from synth import reversal_panel


def _next(r: np.ndarray) -> np.ndarray:
    """(T, N) the next day's return at each date: what a score at t's close is judged by."""
    out = np.full(r.shape, np.nan)
    out[:-1] = r[1:]
    return out


def test_the_reversal_baseline_recovers_the_planted_ic() -> None:
    r, ic, rank_ic = reversal_panel(days=1000, tickers=100, phi=0.3)
    dates = pd.bdate_range("2010-01-01", periods=len(r))
    s: Any = ic_summary(reversal(r, 1), _next(r), dates)
    assert s.ic_mean == pytest.approx(ic, abs=0.01) and s.rank_ic_mean == pytest.approx(rank_ic, abs=0.01)
    assert s.rank_ic_t > 30  # 1,000 days of a 0.26 IC: no doubt
    assert [y.year for y in s.by_year] == [2010, 2011, 2012, 2013] and all(y.rank_ic_t > 3 for y in s.by_year)
    none: Any = ic_summary(momentum(r), _next(r), dates)  # nothing planted at a year's horizon
    assert abs(none.rank_ic_mean) < 0.02 and abs(none.rank_ic_t) < 3


def test_the_ridge_learns_the_reversal_from_training_rows_only() -> None:
    r, _, rank_ic = reversal_panel(days=800, tickers=60, phi=0.3, seed=3)
    target = _next(r)
    scores = baseline_scores(r, target, fit_rows=slice(0, 399))
    test: Any = slice(400, 800)
    dates = pd.bdate_range("2010-01-01", periods=400)
    ridge: Any = ic_summary(scores["ridge"][test], target[test], dates)
    assert ridge.rank_ic_mean == pytest.approx(rank_ic, abs=0.03)
    # Its fit reads no row after the fit window: the test rows changed, the early scores stay.
    shuffled = target.copy()
    shuffled[400:] = np.random.default_rng(9).permutation(shuffled[400:].ravel()).reshape(400, 60)
    again = baseline_scores(r, shuffled, fit_rows=slice(0, 399))["ridge"]
    assert np.allclose(again, scores["ridge"], equal_nan=True)


def test_on_pure_noise_the_ic_t_stays_within_two_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(0)
    inside = 0
    draws = 300
    for _ in range(draws):
        score, realised = rng.normal(size=(250, 30)), rng.normal(size=(250, 30))
        t, _ = newey_west_t(daily_ic(score, realised)[1])
        inside += abs(t) < 2
    assert 0.91 <= inside / draws <= 0.985


def test_newey_west_t_matches_statsmodels() -> None:
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(4)
    x = np.convolve(rng.normal(0.1, 1, 600), np.ones(5) / 5, mode="valid")  # autocorrelated
    for lags in (0, 4, 10):
        ours, _ = newey_west_t(x, lags)
        fit = sm.OLS(x, np.ones(len(x))).fit(
            cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": False}
        )
        assert ours == pytest.approx(float(fit.tvalues[0]), rel=1e-9)


def test_the_long_short_earns_the_reversal_and_costs_are_turnover_times_the_rate() -> None:
    r, _, _ = reversal_panel(days=500, tickers=50, phi=0.3, seed=5)
    score, nxt = reversal(r, 1), _next(r)
    free: Any = portfolio(score, nxt, k=5, cost_bps=0)
    paid: Any = portfolio(score, nxt, k=5, cost_bps=10)
    assert free.gross_return_ann > 0.5 and free.net_return_ann == free.gross_return_ann
    assert np.allclose(paid.gross - paid.net, paid.traded * 10 / 1e4, rtol=0, atol=1e-15)
    assert paid.net_return_ann < paid.gross_return_ann and paid.net_sharpe_t > 3
    assert 0 < paid.max_drawdown < 1 and paid.years_for_t3 < 2
    # Once built, dropout trades at most 2 * n_drop / k of its book a day: far less than re-picking.
    slow: Any = portfolio(score, nxt, k=10, cost_bps=10, rule="topk_dropout", n_drop=1)
    assert slow.traded[0] == pytest.approx(1.0) and slow.traded[1:].max() <= 2 / 10 + 1e-12
    assert slow.turnover < paid.turnover / 3


def test_a_score_at_t_trades_only_on_what_follows_t() -> None:
    r, _, _ = reversal_panel(days=300, tickers=20, phi=0.0, seed=6)
    nxt = _next(r)
    cheat: Any = portfolio(nxt, nxt, k=3, cost_bps=0)  # scored with tomorrow's return: a leak
    honest: Any = portfolio(r, nxt, k=3, cost_bps=0)  # scored with today's: nothing planted here
    assert cheat.net_sharpe > 20 and abs(honest.net_sharpe_t) < 3


def test_the_pooled_dm_has_its_size_on_noise_and_power_on_a_better_model() -> None:
    rng = np.random.default_rng(7)
    rejected = 0
    for _ in range(200):
        a, b = rng.normal(1, 1, size=(250, 20)), rng.normal(1, 1, size=(250, 20))
        p = pooled_dm(a, b).pvalue
        rejected += p is not None and p < 0.05
    assert 0.02 <= rejected / 200 <= 0.09
    better = rng.normal(0.9, 1, size=(250, 20))
    test: Any = pooled_dm(better, rng.normal(1, 1, size=(250, 20)))
    assert test.statistic < 0 and test.pvalue < 0.01 and test.days == 250
    each: Any = per_ticker_dm(better, rng.normal(1, 1, size=(250, 20)))
    assert each.tickers == 20 and each.significant_bh <= each.significant_raw and each.model_better >= 15


def test_the_pooled_clark_west_finds_a_real_signal_and_keeps_its_size_on_noise() -> None:
    from lstmcast.evaluation.panel import pooled_clark_west

    rng = np.random.default_rng(11)
    signal = rng.normal(0, 1, size=(500, 30))
    y = 0.2 * signal + rng.normal(0, 1, size=signal.shape)
    zero = np.zeros_like(y)
    good = pooled_clark_west(y, 0.2 * signal, zero)
    assert good.statistic is not None and good.statistic > 3
    assert good.pvalue is not None and good.pvalue < 0.01
    assert good.days == 500
    # A forecast that nests zero but knows nothing: rejected at 5% about 5% of the time, not
    # more (Clark-West corrects the nesting model's noise that makes plain DM undersized).
    rejected = 0
    draws = 200
    for i in range(draws):
        g = np.random.default_rng(100 + i)
        y = g.normal(0, 1, size=(300, 20))
        noise = 0.1 * g.normal(0, 1, size=y.shape)
        p = pooled_clark_west(y, noise, np.zeros_like(y)).pvalue
        rejected += p is not None and p < 0.05
    assert 0.01 <= rejected / draws <= 0.10


def test_the_pooled_mcs_keeps_what_it_cannot_tell_apart_and_drops_the_clearly_worse() -> None:
    from lstmcast.evaluation.panel import pooled_mcs

    both = 0
    for seed in range(10):  # a 90% set keeps two equal forecasters together about 9 times in 10
        rng = np.random.default_rng(seed)
        base = rng.chisquare(1, size=(400, 20))
        losses = {  # network and twin: the same expected loss; worse: 0.2 more every day
            "network": base + rng.normal(0, 0.3, size=base.shape),
            "twin": base + rng.normal(0, 0.3, size=base.shape),
            "worse": base + 0.2 + rng.normal(0, 0.3, size=base.shape),
        }
        kept = pooled_mcs(losses)
        assert "worse" not in kept and kept
        both += {"network", "twin"} <= set(kept)
    assert both >= 7


def test_returns_by_year_and_the_deflated_sharpe_of_a_run() -> None:
    from lstmcast.evaluation.panel import deflate, returns_by_year

    dates = pd.bdate_range("2020-01-01", periods=600)
    rng = np.random.default_rng(13)
    strong = rng.normal(0.002, 0.01, size=600)
    noise = [rng.normal(0, 0.01, size=600) for _ in range(4)]
    active = np.ones(600, dtype=bool)
    years = returns_by_year(strong, active, dates)
    assert [y.year for y in years] == [2020, 2021, 2022] and sum(y.days for y in years) == 600
    first = years[0]
    in_2020 = strong[dates.year == 2020]
    assert first.net_return == pytest.approx(in_2020.mean() * 252)
    d = deflate(strong, noise, active)
    assert d.trials == 5 and d.probability is not None and d.probability > 0.95
    weak = deflate(noise[0], [strong, *noise[1:]], active)
    assert weak.probability is not None and weak.probability < 0.5


def test_a_portfolio_holds_k_or_a_quantile_of_the_members() -> None:
    from lstmcast.errors import ConfigError
    from lstmcast.runconfig import BacktestConfig

    assert BacktestConfig().holding(50) == 5 and BacktestConfig().holding(5) == 1
    assert BacktestConfig(k=3).holding(50) == 3
    assert BacktestConfig(quantile=0.2).holding(50) == 10 and BacktestConfig(quantile=0.01).holding(50) == 1
    with pytest.raises(ConfigError, match="give --k or --quantile, not both"):
        BacktestConfig(k=3, quantile=0.1).validate()
