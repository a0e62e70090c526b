"""Walk-forward backtest and leakage audit on series whose answer is known."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from conftest import SAMPLE, Cli
from leaks import scaler_leak
from lstmcast.backtest.audit import audit
from lstmcast.backtest.run import ReturnWalk, run_walk
from lstmcast.backtest.walkforward import fit_fold, plan_folds, walk_forward
from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.prep.dataset import build_frame
from lstmcast.runconfig import BacktestConfig
from synth import ar1, random_walk

FAST = TrainConfig(model="lstm", window=10, hidden=8, layers=1, epochs=8, patience=3, lr=5e-3, threads=1)


def test_folds_are_consecutive_and_fit_before_their_cutoff() -> None:
    bars, _ = ar1(1500)
    frame = build_frame(bars)
    folds = plan_folds(frame, FAST, BacktestConfig(folds=4, test_size=0.2))
    assert folds[0].cutoff == frame.n - 300 and folds[-1].end == frame.n
    assert all(a.end == b.cutoff for a, b in itertools.pairwise(folds))
    sliding = plan_folds(frame, FAST, BacktestConfig(folds=4, scheme="sliding", train_size=500))
    assert all(f.cutoff - f.lo == 500 for f in sliding)


@pytest.mark.slow
def test_ar1_pooled_skill_is_close_to_the_theoretical_one() -> None:
    phi = 0.5
    bars, eps = ar1(2500, phi=phi, seed=2)
    result = run_walk(
        ReturnWalk(), FAST, BacktestConfig(folds=3, test_size=0.3), Series("AR1", bars, "synthetic")
    )
    r = result.outcome.first
    at = r.wf.at
    r_next = result.frame.x[at + 1, 0]
    oracle_skill = 1 - np.mean(eps[at + 1] ** 2) / np.mean(r_next**2)  # ~ phi^2 = 0.25
    skill = r.scores.target["model"].skill_vs_naive
    assert abs(oracle_skill - phi**2) < 0.06
    assert skill == pytest.approx(oracle_skill, abs=0.04)
    assert r.dm_pvalue < 0.001 and r.dm_stat < 0
    assert len(r.wf.folds) == 3 and r.scores.target["model"].n == len(at)
    # The verdict names the best baseline: on AR(1) that is the linear AR, not the random walk,
    # and the network is tested against it too (DM: it does not nest a linear regression).
    doc: Any = result.to_json()
    v = doc["verdict"]
    assert v["vs_naive"]["test"] == "clark_west" and v["vs_naive"]["better"]
    assert v["best_baseline"] == "linear" and v["vs_best"]["test"] == "diebold_mariano"
    assert v["vs_best"]["skill"] < 0.05  # the linear AR already has (almost) all of phi^2


def test_random_walk_skill_near_zero_and_dm_does_not_reject() -> None:
    bars = random_walk(2000, seed=13)
    result = run_walk(
        ReturnWalk(), FAST, BacktestConfig(folds=3, test_size=0.3), Series("RW", bars, "synthetic")
    )
    r = result.outcome.first
    assert abs(r.scores.target["model"].skill_vs_naive) < 0.03
    assert r.dm_pvalue > 0.05


def test_retraining_inside_a_block_warm_starts_from_the_previous_fit() -> None:
    bars, _ = ar1(1400, seed=4)
    frame = build_frame(bars)
    calls: list[tuple[int, object, object]] = []

    def spy(cfg: TrainConfig, fr: object, lo: int, cutoff: int, init: object) -> object:
        fitted = fit_fold(cfg, fr, lo, cutoff, init)  # type: ignore[arg-type]
        calls.append((cutoff, init, fitted))
        return fitted

    bt = BacktestConfig(folds=2, test_size=0.2, retrain_every=70)
    walk_forward(FAST.replace(epochs=1), frame, bt, fit=spy)  # type: ignore[arg-type]
    firsts = {f.cutoff for f in plan_folds(frame, FAST, bt)}
    assert len(calls) == 2 * 2  # 140 bars per block, a refit every 70
    for (cutoff, init, _), (_, _, previous) in zip(calls, [(0, None, None), *calls[:-1]], strict=True):
        assert init is (None if cutoff in firsts else previous)
    # And a warm start really starts there: with a vanishing step the refit stays on the init's
    # weights, where a cold start would not.
    tiny = FAST.replace(lr=1e-12, epochs=1)
    a = fit_fold(tiny, frame, 0, 1000)
    warm = fit_fold(tiny, frame, 0, 1070, a)
    cold = fit_fold(tiny.replace(seed=1), frame, 0, 1070)
    assert all(torch.allclose(a.state[k], warm.state[k], atol=1e-6) for k in a.state)
    assert not all(torch.allclose(a.state[k], cold.state[k], atol=1e-3) for k in a.state)


def test_several_seeds_report_mean_and_std() -> None:
    bars, _ = ar1(1400, seed=4)
    bt = BacktestConfig(folds=2, test_size=0.2, seeds=2, retrain_every=70)
    result = run_walk(ReturnWalk(), FAST.replace(epochs=2), bt, Series("AR1", bars, "synthetic"))
    assert [o.wf.seed for o in result.outcome.runs] == [0, 1]
    s = result.outcome.across_seeds["model"]["skill_vs_naive"]
    assert s["std"] > 0 and np.isfinite(s["mean"])
    doc: Any = result.to_json()
    assert doc["n_predictions"] == len(result.outcome.runs[0].wf.at)
    # No mean of p-values: the seeds' average forecast is what is tested and judged.
    assert "dm_pvalue" not in doc["across_seeds"]["model"]
    v = doc["verdict"]
    assert v["forecast"] == "average of 2 seeds"
    average = np.mean([o.wf.preds["model"] for o in result.outcome.runs], axis=0)
    truth = result.frame.x[result.outcome.runs[0].wf.at + 1, 0][:, None]
    naive_mse = np.mean(truth**2)
    assert v["vs_naive"]["skill"] == pytest.approx(1 - np.mean((average - truth) ** 2) / naive_mse)


def test_audit_is_clean_on_lstmcasts_own_pipeline() -> None:
    bars, _ = ar1(1200, seed=5)
    report = audit(
        FAST.replace(epochs=2, features=("log_volume_change", "hl_range")),
        BacktestConfig(folds=2),
        Series("AR1", bars, "synthetic"),
    )
    assert report.clean and len(report.folds) == 2


def test_audit_catches_a_scaler_fitted_on_the_whole_series(monkeypatch: pytest.MonkeyPatch) -> None:
    leaky_fit = scaler_leak(monkeypatch)
    bars, _ = ar1(1200, seed=6)
    report = audit(
        FAST.replace(epochs=1), BacktestConfig(folds=2), Series("AR1", bars, "synthetic"), fit=leaky_fit
    )
    assert not report.clean
    assert report.folds[0].identical["scaler_identical"] is False
    assert "fold 1: scaler statistics" in report.leaks[0]
    clean = audit(
        FAST.replace(epochs=1), BacktestConfig(folds=2), Series("AR1", bars, "synthetic"), fit=fit_fold
    )
    assert clean.clean


def test_the_audit_tells_device_noise_from_a_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    """CUDA kernels are not all bit-reproducible: two fits on the same bars differ in the last
    bits. Simulated here by a fit that jitters its weights: judged exactly, a clean pipeline
    shows a false leak; with the repeat fit's noise floor it is clean, and a real leak (a
    scaler fitted on the whole series) still shows, in the weights too."""
    calls = itertools.count()

    def jitter(fitted: Any) -> Any:
        gen = torch.Generator().manual_seed(next(calls))
        state = {k: v + 1e-7 * torch.randn(v.shape, generator=gen) for k, v in fitted.state.items()}
        return fitted.replace(state=state, _module=None)

    def jittery(cfg, frame, lo, cutoff, init):  # type: ignore[no-untyped-def]
        return jitter(fit_fold(cfg, frame, lo, cutoff, init))

    leaky = scaler_leak(monkeypatch, then=jitter)
    bars, _ = ar1(1200, seed=6)
    series, cfg, bt = Series("AR1", bars, "synthetic"), FAST.replace(epochs=1), BacktestConfig(folds=2)
    exact = audit(cfg, bt, series, fit=jittery, repeat=False)
    assert (
        not exact.clean and not exact.folds[0].identical["weights_identical"]
    )  # the false alarm GPU users saw
    floored = audit(cfg, bt, series, fit=jittery, repeat=True)
    assert floored.clean, floored.leaks
    assert all(f.noise_floor is not None and 0 < f.noise_floor < 1e-5 for f in floored.folds)
    caught = audit(cfg, bt, series, fit=leaky, repeat=True)
    assert (
        not caught.folds[0].identical["scaler_identical"]
        and not caught.folds[0].identical["weights_identical"]
    )


@pytest.mark.slow
def test_backtest_cli_json_files_and_plot(cli: Cli, home: Path, tmp_path: Path) -> None:
    cli("import", SAMPLE / "MSFT.csv", "--ticker", "MSFT")
    out, png = tmp_path / "bt", tmp_path / "bt.png"
    res = cli(
        "backtest",
        "MSFT",
        "--model",
        "cnn",
        "--window",
        "20",
        "--epochs",
        "2",
        "--folds",
        "2",
        "--test-size",
        "0.1",
        "--out",
        out,
        "--plot",
        png,
        "--json",
    )
    doc = json.loads(res.stdout)
    for key in (
        "ticker",
        "model",
        "folds",
        "pooled",
        "dm_pvalue",
        "strategy",
        "buy_and_hold",
        "n_predictions",
    ):
        assert key in doc
    assert set(doc["pooled"]) == {"model", "naive", "drift", "linear"}
    for key in ("total_return", "cagr", "sharpe", "max_drawdown", "turnover", "trades"):
        assert key in doc["strategy"] and key in doc["buy_and_hold"]
    pred = (out / "predictions.csv").read_text().splitlines()
    bands = "lower_80,upper_80,lower_95,upper_95"
    assert pred[0] == f"date,origin,actual,model,naive,drift,linear,{bands},fold,seed"
    assert len(pred) - 1 == doc["n_predictions"]
    assert (out / "equity.csv").exists() and json.loads((out / "metrics.json").read_text())[
        "ticker"
    ] == "MSFT"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    human = cli(
        "backtest",
        "--csv",
        SAMPLE / "MSFT.csv",
        "--model",
        "cnn",
        "--window",
        "20",
        "--epochs",
        "1",
        "--folds",
        "2",
        "--test-size",
        "0.1",
    ).stdout
    assert "per fold" in human and "buy and hold" in human and "naive" in human
    assert "DM p (unadj.)" in human and "the random walk" in human and "Clark-West p " in human


def test_audit_cli_exit_codes(cli: Cli, home: Path) -> None:
    res = cli(
        "audit",
        "--csv",
        SAMPLE / "IBM.csv",
        "--model",
        "cnn",
        "--window",
        "20",
        "--epochs",
        "1",
        "--folds",
        "2",
        "--json",
    )
    assert json.loads(res.stdout)["clean"] is True
    assert "--folds must be" in cli("backtest", "--csv", SAMPLE / "IBM.csv", "--folds", "0", code=1).stderr


def test_too_many_folds_says_so() -> None:
    from lstmcast.errors import DataError

    bars, _ = ar1(600, seed=1)
    with pytest.raises(DataError, match="--folds 1000 needs at least 1000 test bars"):
        plan_folds(build_frame(bars), FAST, BacktestConfig(folds=1000, test_size=0.2))
