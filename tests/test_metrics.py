"""Known-answer tests for the metrics and statistical tests."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstmcast.evaluation.metrics import score
from lstmcast.evaluation.stats import binomial_two_sided_p, diebold_mariano


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
    assert m.mase == pytest.approx(m.mae / naive_mae)
    assert m.skill_vs_naive == pytest.approx(1 - ((0.25 + 1 + 4 + 1) / 4) / ((1 + 4 + 9 + 4) / 4))
    # moves: pred +0.5,-1,+1,-1 vs actual +1,-2,+3,-2: all four right
    assert m.directional_accuracy == 1.0
    assert m.directional_pvalue == pytest.approx(0.125)
    own = score(naive, actual, naive, last, price_units=True)
    assert own.mase == 1.0 and own.skill_vs_naive == 0.0 and own.directional_accuracy is None


def test_binomial_two_sided_matches_known_values() -> None:
    assert binomial_two_sided_p(5, 10) == pytest.approx(1.0)
    assert binomial_two_sided_p(9, 10) == pytest.approx(22 / 1024)
    assert binomial_two_sided_p(0, 10) == pytest.approx(2 / 1024)
    assert binomial_two_sided_p(60, 100) == pytest.approx(0.056887, abs=1e-5)  # R: binom.test(60, 100)


def test_diebold_mariano_sign_and_power() -> None:
    rng = np.random.default_rng(0)
    e_base = rng.normal(0, 1.0, 2000)
    stat, p = diebold_mariano(rng.normal(0, 0.8, 2000), e_base)
    assert stat < 0 and p < 1e-6
    stat, p = diebold_mariano(e_base + rng.normal(0, 1e-3, 2000), e_base)
    assert p > 0.01
    same = diebold_mariano(e_base, e_base)
    assert math.isnan(same[1])
