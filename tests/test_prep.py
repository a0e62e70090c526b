"""Windows, splits, scaling and features: time order is never broken."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcast.errors import DataError
from lstmcast.prep import windows as W
from lstmcast.prep.dataset import SampleShape, build_frame, check_length, min_bars, sample_arrays, split_rows
from lstmcast.prep.features import feature_frame
from lstmcast.prep.scaling import apply, fit_scaler, invert_target
from synth import ar1


def test_windows_and_targets_match_a_naive_loop() -> None:
    x = np.arange(40, dtype=float).reshape(20, 2)
    at = W.origins(20, window=5, horizon=3)
    assert at[0] == 4 and at[-1] == 16
    xw, yw = W.windows(x, 5, at), W.targets(x[:, 0], 3, at)
    for i, t in enumerate(at):
        np.testing.assert_array_equal(xw[i], x[t - 4 : t + 1])
        np.testing.assert_array_equal(yw[i], x[t + 1 : t + 4, 0])


@pytest.mark.parametrize("horizon", [1, 3, 5])
def test_segments_never_cross_and_leave_a_gap(horizon: int) -> None:
    seg = split_rows(1000, 0.1, 0.1)
    o = seg.origins(50, horizon)
    assert (o["train"] + horizon < seg.train_end).all()  # no training target reaches validation
    assert (o["val"] + 1 >= seg.train_end).all() and (o["val"] + horizon < seg.val_end).all()
    assert (o["test"] + 1 >= seg.val_end).all()
    assert o["val"][0] - o["train"][-1] == horizon  # the straddling origins are left out
    assert o["test"][0] - o["val"][-1] == horizon
    assert (o["test"] + horizon < 1000).all()


def test_scaler_uses_only_the_rows_it_is_given() -> None:
    x = np.random.default_rng(0).normal(size=(100, 3))
    s = fit_scaler(x[:60])
    np.testing.assert_allclose(s.mean, x[:60].mean(axis=0))
    y = x.copy()
    y[60:] = 1e6  # anything after the cutoff
    np.testing.assert_array_equal(fit_scaler(y[:60]).mean, s.mean)
    np.testing.assert_allclose(invert_target(s, apply(s, x)[:, 0]), x[:, 0])
    const = fit_scaler(np.ones((10, 1)))
    assert const.std[0] == 1.0


def test_features_are_causal() -> None:
    bars, _ = ar1(300)
    cfg = ("log_volume_change", "hl_range", "oc_return")
    before = feature_frame(bars, "log_return", cfg)
    changed = bars.copy()
    changed.iloc[200:] *= 3.7  # rewrite the future from row 200 on
    after = feature_frame(changed, "log_return", cfg)
    # values() row r is bar r+1: bars up to 199 give rows up to 198, unchanged
    np.testing.assert_array_equal(before.values()[:199], after.values()[:199])
    assert not np.allclose(before.values()[199, 0], after.values()[199, 0])


def test_too_short_series_says_how_many_bars_are_needed() -> None:
    bars, _ = ar1(150)
    shape = SampleShape(window=50, horizon=1, val_frac=0.1, test_frac=0.1)
    with pytest.raises(DataError, match=rf"at least {min_bars(shape)} bars are needed"):
        check_length(build_frame(bars), shape, "SYN")
    enough, _ = ar1(min_bars(shape) - 1)  # ar1(n) gives n+1 bars
    check_length(build_frame(enough), shape, "SYN")
    short, _ = ar1(min_bars(shape) - 2)
    with pytest.raises(DataError):
        check_length(build_frame(short), shape, "SYN")


def test_sample_arrays_are_float_tensors_ready_for_torch() -> None:
    x = np.random.default_rng(1).normal(size=(200, 2))
    xw, yw = sample_arrays(x, 10, 2, W.origins(200, 10, 2))
    assert xw.shape == (189, 10, 2) and yw.shape == (189, 2) and xw.flags.c_contiguous
