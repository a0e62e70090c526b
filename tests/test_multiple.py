"""Known values for the multiple-testing corrections and the deflated Sharpe ratio."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstmcast.evaluation.multiple import (
    benjamini_hochberg,
    deflated_sharpe,
    deflated_sharpe_of,
    expected_max_sharpe,
    holm,
    probabilistic_sharpe,
)

P = [0.01, 0.04, 0.03, 0.005]


def test_benjamini_hochberg_matches_r() -> None:
    # R: p.adjust(c(.01, .04, .03, .005), "BH") -> 0.02 0.04 0.04 0.02
    assert benjamini_hochberg(P) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert benjamini_hochberg([0.5, None, 0.01]) == [pytest.approx(0.5), None, pytest.approx(0.02)]


def test_holm_matches_r() -> None:
    # R: p.adjust(c(.01, .04, .03, .005), "holm") -> 0.03 0.06 0.06 0.02
    assert holm(P) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # capped at 1


def test_deflated_sharpe_reproduces_bailey_and_lopez_de_prado() -> None:
    # Their example: annualised SR 2.5 over 5 years of daily returns (T = 1250), skew -3,
    # kurtosis 10, N = 100 trials with annualised SR variance 0.5: SR0 = 0.1132 per day and
    # DSR = 0.90 (the paper's numbers, daily: SR = 2.5 / sqrt(250), variance 0.5 / 250).
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert sr0 == pytest.approx(0.1132, abs=2e-4)
    dsr = deflated_sharpe_of(2.5 / math.sqrt(250), 1250, -3.0, 10.0, 100, 0.5 / 250)
    assert dsr == pytest.approx(0.90, abs=0.005)


def test_more_trials_deflate_more_and_noise_earns_nothing() -> None:
    rng = np.random.default_rng(0)
    good = rng.normal(0.001, 0.01, 1000)
    assert deflated_sharpe(good, 2, 1e-4) > deflated_sharpe(good, 400, 1e-4)  # type: ignore[operator]
    noise = rng.normal(0, 0.01, 1000)
    assert deflated_sharpe(noise, 100, 0.002) < 0.05  # type: ignore[operator]
    assert deflated_sharpe(np.zeros(10), 5, 0.1) is None


def test_the_probabilistic_sharpe_has_power_where_a_misaimed_deflation_had_none() -> None:
    # Outer returns no choice saw, two years, true Sharpe 1.6 a year: deflating them for 50
    # trials (what a tune did) found them 2.7% of the time; the plain test against zero finds
    # them about three times in four, and holds its size on noise.
    rng = np.random.default_rng(3)
    daily = 1.6 / math.sqrt(252)
    skilled = [probabilistic_sharpe(rng.normal(daily * 0.01, 0.01, 504)) for _ in range(400)]
    misaimed = [deflated_sharpe(rng.normal(daily * 0.01, 0.01, 504), 50, 0.004) for _ in range(400)]
    noise = [probabilistic_sharpe(rng.normal(0, 0.01, 504)) for _ in range(400)]
    assert np.mean([p > 0.95 for p in skilled]) > 0.6  # type: ignore[operator]
    assert np.mean([p > 0.95 for p in misaimed]) < 0.1  # type: ignore[operator]
    assert 0.02 <= np.mean([p > 0.95 for p in noise]) <= 0.08  # type: ignore[operator]
    r = rng.normal(0.001, 0.01, 300)
    c = r - r.mean()
    m2 = float(np.mean(c**2))
    sr, skew, kurt = r.mean() / r.std(ddof=1), np.mean(c**3) / m2**1.5, np.mean(c**4) / m2**2
    assert probabilistic_sharpe(r) == pytest.approx(deflated_sharpe_of(sr, 300, skew, kurt, 1, 0.0))
