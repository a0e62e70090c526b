"""Intervals that follow volatility: known answers, a GARCH series, no leaks, and the live ACI state."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import SAMPLE, Cli, one_forecast
from lstmcast.evaluation.intervals import (
    aci_update,
    christoffersen,
    christoffersen_lr,
    conditional_coverage,
    ewma_sigma,
    kupiec,
    kupiec_lr,
    online_intervals,
    pinball,
    quantile_pair,
    score_intervals,
    winkler,
)
from synth import garch_bars


def test_winkler_and_pinball_by_hand() -> None:
    lo, hi, alpha = np.array([-1.0] * 3), np.array([1.0] * 3), 0.2
    # inside: the width 2; above by 1: 2 + (2/0.2) * 1 = 12; below by 0.5: 2 + 10 * 0.5 = 7
    assert winkler(lo, hi, np.array([0.0, 2.0, -1.5]), alpha).tolist() == [2.0, 12.0, 7.0]
    # the 0.1-quantile -1 against outcomes 0 (above: 0.1 * 1) and -2 (below: 0.9 * 1)
    assert pinball(np.array([-1.0, -1.0]), np.array([0.0, -2.0]), 0.1) == pytest.approx(0.5)


def test_kupiec_by_hand() -> None:
    # 5 misses in 100 at a nominal 10%: LR = -2[95 ln .9 + 5 ln .1 - 95 ln .95 - 5 ln .05] = 3.3413
    misses = np.array([0] * 95 + [1] * 5, dtype=bool)
    assert kupiec(misses, 0.1) == pytest.approx(0.067561, rel=1e-4)
    assert kupiec(np.array([0] * 90 + [1] * 10, dtype=bool), 0.1) == pytest.approx(1.0)


def test_christoffersen_by_hand() -> None:
    # 0000111000: n00=5, n01=1, n10=1, n11=2; pi=1/3, pi0=1/6, pi1=2/3: LR = 2.2314
    assert christoffersen(np.array([0, 0, 0, 0, 1, 1, 1, 0, 0, 0], dtype=bool)) == pytest.approx(
        0.135228, rel=1e-4
    )
    # misses that do not cluster (pi0 = pi1) give no evidence at all
    assert christoffersen(np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0], dtype=bool)) == pytest.approx(1.0)


def test_one_aci_update() -> None:
    # alpha_{t+1} = alpha_t + gamma (alpha - err_t), gamma = 0.005: a miss narrows the miss
    # rate aimed at (wider interval), a hit widens it.
    assert aci_update(0.2, 0.2, missed=True) == pytest.approx(0.196)
    assert aci_update(0.2, 0.2, missed=False) == pytest.approx(0.201)
    assert aci_update(0.001, 0.2, missed=True) == pytest.approx(0.001)  # clipped: never infinite


def _garch(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns r_t = sigma_t e_t with GARCH(1,1) variance; sigma (N,) is the true one."""
    rng = np.random.default_rng(seed)
    omega, a, b = 2e-6, 0.10, 0.88
    var, r, sig = omega / (1 - a - b), np.zeros(n), np.zeros(n)
    for t in range(n):
        sig[t] = np.sqrt(var)
        r[t] = sig[t] * rng.standard_normal()
        var = omega + a * r[t] ** 2 + b * var
    return r, sig


def _f(x: float | None) -> float:
    return np.nan if x is None else x


@pytest.mark.parametrize("seed", [1, 2])
def test_on_a_garch_series_scaled_and_aci_cover_in_every_tercile_and_empirical_does_not(seed: int) -> None:
    r, true_sigma = _garch(5000, seed)
    sigma_hat = ewma_sigma(r)
    at = np.arange(1500, 4999)
    errors = r[at + 1][:, None]  # the random-walk forecast: the error is the next return
    calib_at = np.arange(1000, 1499)
    spreads, worst = {}, {}
    for method in ("empirical", "scaled", "aci"):
        out = online_intervals(
            at, errors, sigma_hat[at], r[calib_at + 1][:, None], sigma_hat[calib_at], method, (0.8,)
        )
        s = score_intervals(out.lower[0.8][:, 0], out.upper[0.8][:, 0], errors[:, 0], true_sigma[at + 1], 0.8)
        terc = np.array(s.coverage_by_vol_tercile, dtype=float)
        spreads[method] = max(terc) - min(terc)
        worst[method] = max(abs(c - 0.8) for c in terc)
        if method != "empirical":
            assert abs(_f(s.coverage) - 0.8) < 0.03, (method, s.coverage)
    # Conditional coverage: ACI within 4 points of 80% in calm, middle and turbulent markets.
    # `scaled` shrinks EWMA toward the long-run variance (right for the sample stocks, whose
    # volatility reverts faster); on this very persistent GARCH it lags, up to ~6 points.
    assert worst["aci"] < 0.04 and worst["scaled"] < 0.07, worst
    assert spreads["empirical"] > 0.2 > 1.8 * spreads["scaled"] and spreads["aci"] < 0.08, spreads


def test_no_leak_volatility_scores_and_aci_ignore_the_future() -> None:
    rng = np.random.default_rng(3)
    price = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 1200)))

    def bounds(p: np.ndarray) -> dict[str, np.ndarray]:
        r = np.concatenate([[0.0], np.diff(np.log(p))])
        sigma = ewma_sigma(r)
        at = np.arange(600, 1195)
        errors = np.stack([np.log(p[at + k] / p[at]) for k in (1, 2)], axis=1)  # random walk, 2 steps
        calib_at = np.arange(400, 598)
        seed = np.stack([np.log(p[calib_at + k] / p[calib_at]) for k in (1, 2)], axis=1)
        out = {}
        for method in ("scaled", "aci"):
            o = online_intervals(at, errors, sigma[at], seed, sigma[calib_at], method, (0.8, 0.95))
            out[method] = np.stack([o.lower[0.8], o.upper[0.8], o.lower[0.95], o.upper[0.95]])
        return out

    cut = 900
    future = price.copy()
    future[cut + 1 :] *= np.exp(np.cumsum(rng.normal(0, 0.05, len(price) - cut - 1)))  # a wild future
    a, b = bounds(price), bounds(future)
    known = np.arange(600, 1195) <= cut  # origins up to the cut: their intervals use nothing after it
    for method in ("scaled", "aci"):
        np.testing.assert_array_equal(a[method][:, known], b[method][:, known])
        assert not np.allclose(a[method][:, ~known], b[method][:, ~known])


def _tiny(cli: Cli, ticker: str) -> str:
    fast = ["--model", "cnn", "--window", "10", "--epochs", "1", "--channels", "4", "--json"]
    return str(json.loads(cli("train", ticker, *fast).stdout)["model_id"])


def _aci_rows(home: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(home / "lstmcast.db") as conn:
        return conn.execute(
            "SELECT model_id, ticker, level, step, alpha, through_as_of FROM aci_state ORDER BY 1, 2, 3, 4"
        ).fetchall()


@pytest.mark.slow
def test_live_aci_learns_once_from_each_realised_price(cli: Cli, home: Path, tmp_path: Path) -> None:
    lines = (SAMPLE / "AAPL.csv").read_text().splitlines()
    for cut in ("2013-02-20", "2013-02-22", "2013-02-26"):
        (tmp_path / f"{cut}.csv").write_text(
            "\n".join([lines[0], *(ln for ln in lines[1:] if ln[:10] <= cut)]) + "\n"
        )
    cli("import", tmp_path / "2013-02-20.csv", "--ticker", "AAPL")
    model_id = _tiny(cli, "AAPL")
    first = one_forecast(cli("forecast", "AAPL", "--horizon", "2", "--json").stdout)
    assert first["interval_method"] == "vol" and first["sigma"] > 0  # the default: ACI on HAR scaling
    cli("import", tmp_path / "2013-02-22.csv", "--ticker", "AAPL")  # two bars arrive
    cli("forecast", "AAPL", "--horizon", "2")  # learns from both steps, then forecasts again
    learned = _aci_rows(home)
    assert {(r[2], r[3]) for r in learned} == {(0.8, 1), (0.8, 2), (0.95, 1), (0.95, 2)}
    assert all(r[0] == model_id and r[5] == "2013-02-20" for r in learned)
    assert all(r[4] != pytest.approx(1 - r[2]) for r in learned)  # each moved off its start
    cli("ledger", "AAPL")
    cli("ledger", "AAPL", "--json")
    assert _aci_rows(home) == learned  # the same realised prices scored again change nothing
    cli("import", tmp_path / "2013-02-26.csv", "--ticker", "AAPL")
    cli("ledger", "AAPL")
    assert {r[5] for r in _aci_rows(home)} == {"2013-02-22"}  # the next origin, once
    live = json.loads(cli("ledger", "AAPL", "--json").stdout)["summary"][0]["scores"]["intervals"]
    assert set(live) == {"80", "95"} and live["80"]["n"] == 2


@pytest.mark.slow
def test_backtest_reports_interval_scores_by_volatility_tercile(cli: Cli, home: Path) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    fast = ["--model", "cnn", "--window", "10", "--epochs", "1", "--channels", "4", "--folds", "2"]
    doc = json.loads(cli("backtest", "IBM", *fast, "--intervals", "scaled", "--json").stdout)
    iv = doc["intervals"]
    assert iv["method"] == "scaled" and set(iv) == {"method", "80", "95"}
    for level in ("80", "95"):
        s = iv[level]
        assert len(s["coverage_by_vol_tercile"]) == 3 and s["n"] == doc["n_predictions"]
        keys = ("coverage", "width", "winkler", "kupiec_p", "christoffersen_p", "conditional_coverage_p")
        for key in (*keys, "pinball_lower"):
            assert s[key] is not None
        assert abs(s["coverage"] - int(level) / 100) < 0.06
    human = cli("backtest", "IBM", *fast).stdout
    assert "one-step intervals (vol), coverage by tercile of ex-ante volatility" in human
    assert "interval at cutoff" in cli("audit", "IBM", *fast).stdout


def test_conformal_bounds_are_infinite_when_the_pool_cannot_bound_them() -> None:
    # n = 19, alpha = 0.05: ranks floor(20 * 0.025) = 0 and ceil(20 * 0.975) = 20 fall outside
    # 1..19, so both sides are unbounded (clipping to (1, 19) covers only 18 of 20 outcomes).
    assert quantile_pair(np.arange(1.0, 20.0), 0.05) == (-np.inf, np.inf)
    # n = 39: ranks 1 and 39, the sample extremes, are now valid conformal bounds.
    assert quantile_pair(np.arange(1.0, 40.0), 0.05) == (1.0, 39.0)
    # one side only: n = 9, alpha = 0.2 -> ranks floor(1) = 1 and ceil(9) = 9
    assert quantile_pair(np.arange(1.0, 10.0), 0.2) == (1.0, 9.0)
    assert quantile_pair(np.arange(1.0, 10.0), 0.1) == (-np.inf, np.inf)
    assert quantile_pair(np.array([]), 0.5) == (-np.inf, np.inf)


def test_unbounded_intervals_always_cover_and_are_counted_apart() -> None:
    y = np.array([0.0, 5.0, -5.0, 0.5])
    lower = np.array([-1.0, -np.inf, -1.0, -1.0])
    upper = np.array([1.0, np.inf, 1.0, 1.0])
    s = score_intervals(lower, upper, y, np.ones(4), 0.8)
    assert s.n == 4 and s.unbounded == 1
    assert s.coverage == pytest.approx(0.75)  # only -5 falls outside; +5 is inside (-inf, inf)
    assert s.width == pytest.approx(2.0)  # of the three bounded ones
    assert s.winkler == pytest.approx(np.mean([2.0, 2.0 + 10 * 4, 2.0]))


def test_conditional_coverage_adds_the_two_likelihood_ratios() -> None:
    misses = np.array([0, 0, 0, 0, 1, 1, 1, 0, 0, 0] * 5, dtype=bool)
    lr = kupiec_lr(misses, 0.1) + christoffersen_lr(misses)
    assert conditional_coverage(misses, 0.1) == pytest.approx(np.exp(-lr / 2))
    assert lr > 0 and conditional_coverage(misses, 0.1) < 0.001  # 30% misses, in runs of three
    iid = np.random.default_rng(3).random(2000) < 0.1  # right rate, no clustering
    assert conditional_coverage(iid, 0.1) > 0.05


def test_live_intervals_from_too_few_errors_are_unbounded_not_clipped() -> None:
    from lstmcast.forecasting.intervals import interval_quantiles

    q = interval_quantiles([list(np.linspace(-0.02, 0.02, 19))], 1, (0.8, 0.95))
    # 80%: ranks floor(20 * 0.1) = 2 and ceil(20 * 0.9) = 18: finite; 95%: unbounded both sides
    assert np.isfinite(q[0, :2]).all() and q[0, 0] == pytest.approx(np.linspace(-0.02, 0.02, 19)[1])
    assert q[0, 2] == -np.inf and q[0, 3] == np.inf


def test_vol_intervals_follow_the_range_and_cover_in_every_tercile() -> None:
    # GARCH(1,1)-t days with intraday bridges (tests/test_volatility.py): the daily range sees
    # the variance, so HAR's volatility on the GK proxy tracks it. The random walk's errors,
    # scaled by it, with ACI on top: within 5 points of 80% in calm, middle and turbulent.
    from lstmcast.evaluation.scoring import har_sigma
    from lstmcast.prep.dataset import build_frame

    bars, var = garch_bars(5000, seed=3)
    frame = build_frame(bars)
    r = frame.x[:, 0]
    at = np.arange(1500, frame.n - 1)
    calib_at = np.arange(1000, 1499)
    errors = r[at + 1][:, None]
    sigma = har_sigma(frame, at, 1500)  # fitted on rows before the first origin's target
    out = online_intervals(
        at, errors, sigma, r[calib_at + 1][:, None], har_sigma(frame, calib_at, 1000), "vol", (0.8,)
    )
    s = score_intervals(
        out.lower[0.8][:, 0], out.upper[0.8][:, 0], errors[:, 0], np.sqrt(var[1:][at + 1]), 0.8
    )
    assert abs(_f(s.coverage) - 0.8) < 0.02
    assert max(abs(c - 0.8) for c in np.array(s.coverage_by_vol_tercile, dtype=float)) < 0.05, (
        s.coverage_by_vol_tercile
    )
    # HAR's volatility is known at the origin: it is the same whatever comes after.
    later = build_frame(bars.iloc[:2000])
    assert np.array_equal(har_sigma(later, at[:400], 1500), sigma[:400])


def test_on_regime_switches_the_default_keeps_every_tercile_and_aci_does_not() -> None:
    # Calm and turbulent spells of about 200 days (tests/synth.py), as 2008 came after
    # 2005-07: the random walk's 80% intervals, terciles of the EWMA volatility at the origin.
    # The default (`vol`) keeps every tercile within 5 points and its misses unclustered;
    # `aci`, the old default, clusters its misses on every draw (what held-out index series
    # showed: 74.5% in the turbulent tercile, Christoffersen p 0.0003).
    from lstmcast.evaluation.scoring import har_sigma, origin_sigma
    from lstmcast.prep.dataset import build_frame
    from lstmcast.runconfig import DEFAULT_INTERVALS
    from synth import regime_bars

    assert DEFAULT_INTERVALS == "vol"
    kept, aci_clustered = 0, 0
    for seed in range(4):
        bars, _ = regime_bars(5000, seed=seed)
        frame = build_frame(bars)
        r = frame.x[:, 0]
        at, calib_at = np.arange(1500, frame.n - 1), np.arange(1000, 1499)
        errors, ewma = r[at + 1][:, None], origin_sigma(frame, at)
        for method in ("vol", "aci"):
            vol = method == "vol"
            sigma = har_sigma(frame, at, 1500) if vol else ewma
            seed_sigma = har_sigma(frame, calib_at, 1000) if vol else origin_sigma(frame, calib_at)
            out = online_intervals(at, errors, sigma, r[calib_at + 1][:, None], seed_sigma, method, (0.8,))
            s = score_intervals(out.lower[0.8][:, 0], out.upper[0.8][:, 0], errors[:, 0], ewma, 0.8)
            if vol:
                assert max(abs(c - 0.8) for c in np.array(s.coverage_by_vol_tercile, dtype=float)) < 0.05, (
                    seed,
                    s,
                )
                kept += (s.christoffersen_p or 0) > 0.05
            else:
                aci_clustered += (s.christoffersen_p or 1) < 0.01
    assert kept >= 3 and aci_clustered == 4


@pytest.mark.slow
def test_backtest_audit_and_forecast_with_vol_intervals(cli: Cli, home: Path) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    fast = ["--model", "cnn", "--window", "10", "--epochs", "1", "--channels", "4", "--folds", "2"]
    doc = json.loads(cli("backtest", "IBM", *fast, "--intervals", "vol", "--json").stdout)
    assert doc["intervals"]["method"] == "vol" and abs(doc["intervals"]["80"]["coverage"] - 0.8) < 0.06
    assert "interval at cutoff" in cli("audit", "IBM", *fast, "--intervals", "vol").stdout
    cli("train", "IBM", "--model", "cnn", "--window", "10", "--epochs", "1", "--channels", "4")
    fc = one_forecast(cli("forecast", "IBM", "--intervals", "vol", "--json").stdout)
    assert fc["interval_method"] == "vol" and 0.003 < fc["sigma"] < 0.05
    # The live volatility is the saved HAR's (training rows), the one its errors were divided
    # by: not a HAR refitted on every bar.
    from lstmcast.config import TrainConfig
    from lstmcast.data.series import load_csv
    from lstmcast.evaluation.scoring import HarScale, fit_har_scale
    from lstmcast.prep.inputs import frame_for
    from lstmcast.registry.checkpoint import MANIFEST

    manifest = json.loads(next(home.rglob(MANIFEST)).read_text())
    saved = HarScale.from_dict(manifest["vol_har_by_ticker"]["IBM"])
    series = load_csv(SAMPLE / "IBM.csv", "IBM")
    frame = frame_for(TrainConfig.from_dict(manifest["config"]), series.bars, series.exog, "IBM")
    assert frame.variance is not None
    at = np.array([frame.n - 1])
    assert fc["sigma"] == pytest.approx(float(saved.sigma(frame.variance, at)[0]), rel=1e-6)
    refitted = fit_har_scale(frame, frame.n)
    assert refitted is not None and float(refitted.sigma(frame.variance, at)[0]) != pytest.approx(fc["sigma"])
    f = fc["forecasts"][0]
    assert f["lower_95"] < f["lower_80"] < f["price"] < f["upper_80"] < f["upper_95"]


def test_forecast_bands_widen_with_the_step_and_are_never_narrowed() -> None:
    """Each step's quantiles are estimated on their own; their noise made a 95% band narrow and
    widen again (a jagged fan). The bands are made to widen: never narrower than estimated,
    the first step as it was."""
    from lstmcast.forecasting.intervals import interval_bounds, widening

    raw = np.array([[-0.02, 0.02, -0.03, 0.03], [-0.03, 0.025, -0.05, 0.04], [-0.025, 0.035, -0.04, 0.06]])
    out = widening(raw)
    assert (out[0] == raw[0]).all()
    assert (np.diff(out[:, 0::2], axis=0) <= 0).all() and (np.diff(out[:, 1::2], axis=0) >= 0).all()
    assert (out[:, 0::2] <= raw[:, 0::2]).all() and (out[:, 1::2] >= raw[:, 1::2]).all()
    assert out[2, 0] == -0.03 and out[1, 1] == 0.025 and out[2, 3] == 0.06
    rng = np.random.default_rng(0)
    errors = [list(rng.normal(0, 0.01 * np.sqrt(k + 1), 300)) for k in range(10)]
    for method in ("empirical", "vol"):
        b = interval_bounds(method, errors, errors, 10, (0.8, 0.95), 1.0)
        assert (np.diff(b[:, 0::2], axis=0) <= 0).all() and (np.diff(b[:, 1::2], axis=0) >= 0).all()
