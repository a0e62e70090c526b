"""Known-answer tests for the metrics and statistical tests."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from lstmcast.evaluation.metrics import score
from lstmcast.evaluation.scoring import BlockForecasts, dm_vs_naive
from lstmcast.evaluation.stats import clark_west, diebold_mariano, pesaran_timmermann
from lstmcast.evaluation.verdict import judge
from lstmcast.prep.dataset import build_frame
from synth import ar1


def test_score_by_hand() -> None:
    actual = np.array([101.0, 99.0, 102.0, 100.0])
    last = np.array([100.0, 101.0, 99.0, 102.0])
    naive = last.copy()
    pred = np.array([100.5, 100.0, 100.0, 101.0])
    m = score(pred, actual, naive, last, price_units=True)
    assert m.mae == pytest.approx((0.5 + 1 + 2 + 1) / 4)
    assert m.rmse == pytest.approx(math.sqrt((0.25 + 1 + 4 + 1) / 4))
    assert m.mape == pytest.approx(np.mean([0.5 / 101, 1 / 99, 2 / 102, 1 / 100]))
    naive_mae = (1 + 2 + 3 + 2) / 4
    assert m.rel_mae == pytest.approx(m.mae / naive_mae)
    assert m.mase is None  # no in-sample scale given: no MASE
    assert m.skill_vs_naive == pytest.approx(1 - ((0.25 + 1 + 4 + 1) / 4) / ((1 + 4 + 9 + 4) / 4))
    # moves: pred +0.5,-1,+1,-1 vs actual +1,-2,+3,-2: all four right
    assert m.directional_accuracy == 1.0
    assert m.directional_pvalue is None  # four points are too few for Pesaran-Timmermann
    own = score(naive, actual, naive, last, price_units=True)
    assert own.rel_mae == 1.0 and own.skill_vs_naive == 0.0 and own.directional_accuracy is None


def test_mase_scales_each_error_by_the_in_sample_naive_mae() -> None:
    # Hyndman & Koehler: errors 0.5, 1, 2, 1 over in-sample naive MAEs 2, 2, 4, 4.
    actual = np.array([101.0, 99.0, 102.0, 100.0])
    pred = np.array([100.5, 100.0, 100.0, 101.0])
    m = score(pred, actual, actual, scale=np.array([2.0, 2.0, 4.0, 4.0]))
    assert m.mase == pytest.approx((0.25 + 0.5 + 0.5 + 0.25) / 4)
    assert score(pred, actual, actual, scale=2.0).mase == pytest.approx(4.5 / 4 / 2)


def test_pesaran_timmermann_by_hand() -> None:
    # 20 calls: 12 up (9 right), 8 down (6 right). P = 0.75, Py = 0.55, Pf = 0.6,
    # P* = 0.51, V(P) = 0.012495, V(P*) = 0.001209, PT = 0.24 / sqrt(0.011286) = 2.2591.
    f = np.array([1.0] * 12 + [-1.0] * 8)
    y = np.array([1.0] * 9 + [-1.0] * 3 + [1.0] * 2 + [-1.0] * 6)
    assert pesaran_timmermann(f, y) == pytest.approx(0.0119377, rel=1e-4)


def test_always_long_in_a_rising_market_earns_no_directional_credit() -> None:
    rng = np.random.default_rng(1)
    moves = rng.normal(0.002, 0.01, 500)  # up about 58% of days
    always_long = np.full(500, 0.001)
    m = score(always_long, moves, np.zeros(500))
    assert m.directional_accuracy is not None and m.directional_accuracy > 0.55  # a binomial test would cheer
    assert m.directional_pvalue is None  # PT: a forecast that never changes sign says nothing
    informed = moves + rng.normal(0, 0.01, 500)
    assert pesaran_timmermann(informed, moves) < 1e-6  # type: ignore[operator]
    coin = rng.normal(0, 1, 500)
    assert pesaran_timmermann(coin, moves) > 0.01  # type: ignore[operator]


def test_diebold_mariano_by_hand_uses_student_t() -> None:
    # d = e1^2 - e2^2 = [-3, 0, 0, -0.75, -1.75]: mean -1.1, n = 5, two cosine terms (the least):
    # Lambda_j = sqrt(2/5) sum_t cos(pi j (t - 1/2) / 5) (d_t + 1.1) = -0.47307, -2.28384;
    # variance 2.71986, DM = -1.1 / sqrt(2.71986 / 5) = -1.49144; Student t with 2 df.
    stat, p = diebold_mariano(np.array([1, -1, 2, 0.5, 1.5]), np.array([2, 1, -2, 1, 2]))
    assert stat == pytest.approx(-1.491436, rel=1e-6)
    assert p == pytest.approx(0.274357, rel=1e-5)  # the normal would say 0.136


def test_multi_step_verdict_tests_the_whole_path_not_step_one() -> None:
    # Worse than naive at step 1, far better at steps 2 and 3: the path as a whole is better,
    # and the one test behind the verdict must say so (step 1's own DM says the opposite).
    frame = build_frame(ar1(800, seed=3)[0])
    at = np.arange(10, 790)
    truth = np.stack([frame.x[at + k, 0] for k in (1, 2, 3)], axis=1)
    rng = np.random.default_rng(0)
    naive = np.zeros_like(truth)
    model = truth + rng.normal(0, 1, truth.shape) * np.array([1.5, 0.2, 0.2]) * truth.std()
    stat, p = dm_vs_naive(frame, BlockForecasts(at, {"model": model, "naive": naive}))
    assert stat < 0 and p < 0.01
    step1, p1 = diebold_mariano((model - truth)[:, 0], (naive - truth)[:, 0])
    assert step1 > 0 and p1 < 0.01


def test_diebold_mariano_sign_and_power() -> None:
    rng = np.random.default_rng(0)
    e_base = rng.normal(0, 1.0, 2000)
    stat, p = diebold_mariano(rng.normal(0, 0.8, 2000), e_base)
    assert stat < 0 and p < 1e-6
    stat, p = diebold_mariano(e_base + rng.normal(0, 1e-3, 2000), e_base)
    assert p > 0.01
    same = diebold_mariano(e_base, e_base)
    assert math.isnan(same[1])


@pytest.mark.parametrize("horizon", [1, 5])
def test_pesaran_timmermann_keeps_its_size_on_overlapping_paths(horizon: int) -> None:
    # No-skill forecasts of iid t(4) returns, N = 600 origins, each an H-step path that
    # overlaps the next origin's (as a walk-forward's do): the 5% test must reject about 5% of
    # the time. Pooling the H steps as if independent rejected 25% at H = 5.
    rng = np.random.default_rng(7)
    n, reps, rejected = 600, 1000, 0
    for _ in range(reps):
        r, z = rng.standard_t(4, n + horizon), rng.standard_t(4, n + horizon)
        actual = np.stack([r[1 + k : 1 + k + n] for k in range(horizon)], axis=1)
        pred = np.stack([z[k : k + n] for k in range(horizon)], axis=1)
        p = score(pred, actual, np.zeros_like(actual)).directional_pvalue
        rejected += p is not None and p < 0.05
    assert 0.03 <= rejected / reps <= 0.07


def test_clark_west_by_hand() -> None:
    # f = e_base^2 - e_model^2 + (e_base - e_model)^2 = 1, 1, 4, 0, 1: mean 1.4, variance
    # (1/n) 1.84, statistic 1.4 / sqrt(1.84 / 5) = 2.30782, one-sided normal p = 0.010504.
    e_base = np.array([1.0, -1.0, 2.0, 0.0, 1.0])
    e_model = np.array([0.5, -0.5, 1.0, 0.5, 0.5])
    stat, p = clark_west(e_model, e_base)
    assert stat == pytest.approx(1.4 / math.sqrt(0.368))
    assert stat == pytest.approx(2.30782, rel=1e-5) and p == pytest.approx(0.010504, rel=1e-3)
    # Identical forecasts: f = 0 everywhere, no variance, no test.
    assert math.isnan(clark_west(e_base, e_base)[1])


def test_clark_west_falls_back_to_bartlett_where_the_equal_weight_variance_is_negative() -> None:
    from lstmcast.evaluation.stats import _long_run_variance, clark_west_test

    # Alternating differentials: a strongly negative first autocovariance makes the
    # equal-weight long-run variance (lag 1, horizon 2) negative; the test still answers.
    f = np.array([3.0, -1.0, 3.0, -1.0, 3.0, -1.0, 3.0, -1.0, 3.0, -0.5])
    assert _long_run_variance(f, 2) <= 0 < _long_run_variance(f, 2, bartlett=True)
    stat, p = clark_west_test(f, 2)
    expected = f.mean() / math.sqrt(_long_run_variance(f, 2, bartlett=True) / len(f))
    assert stat == pytest.approx(expected) and 0 < p < 0.5


def test_clark_west_keeps_its_size_where_dm_is_undersized() -> None:
    # Under the null the truth is the random walk (forecast 0); the "model" adds estimation
    # noise around it, as a nesting network does. DM (two-sided, at 10% so that one side is 5%)
    # rarely rejects in the model's favour; Clark-West's one-sided 5% test is near its size.
    rng = np.random.default_rng(11)
    n, reps, cw, dm = 500, 600, 0, 0
    for _ in range(reps):
        y = rng.normal(0, 1, n)
        model = rng.normal(0, 0.2, n)  # no information, only noise
        cw += clark_west(model - y, -y)[1] < 0.05
        stat, p = diebold_mariano(model - y, -y)
        dm += stat < 0 and p < 0.10
    assert 0.02 <= cw / reps <= 0.08
    assert dm / reps < 0.01


def test_the_verdict_names_the_best_baseline_and_tests_against_it() -> None:
    # An AR(1)-like truth: the linear baseline knows phi; the model is a noisier copy of it.
    rng = np.random.default_rng(5)
    n = 800
    signal = rng.normal(0, 1, n)
    truth = (0.5 * signal + rng.normal(0, 1, n))[:, None]
    preds = {
        "model": (0.5 * signal + rng.normal(0, 0.35, n))[:, None],
        "naive": np.zeros((n, 1)),
        "drift": np.full((n, 1), 0.01),
        "linear": (0.5 * signal)[:, None],
    }
    v = judge(preds, truth)
    assert v.best_baseline == "linear" and v.vs_best.test == "diebold_mariano"
    assert v.vs_naive.test == "clark_west" and v.vs_naive.better  # beats the random walk...
    assert v.vs_best.skill < 0 and v.vs_best.worse  # ...but is significantly worse than linear
    doc: dict[str, Any] = v.to_json()
    assert doc["vs_best"]["baseline"] == "linear" and doc["vs_naive"]["better"] is True
