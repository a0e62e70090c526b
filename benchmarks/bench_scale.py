"""How the costs grow with series length, up to a synthetic 100,000-bar series.

    .venv/bin/python benchmarks/bench_scale.py [--lengths 3000,20000,100000]

For AR(1) return series of each length: building the frame and every training window, one
training epoch of LSTM 2x64 (window 50, batch 64, torch on every core), batched inference over
every origin, and a forecast's own work (predict_path: EWMA volatility over the whole series,
intervals, calendar). Prints seconds and each figure per 1,000 bars, so a line that stays flat
is linear. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.prep.dataset import sample_arrays
from lstmcast.prep.inputs import frame_for, split_for
from lstmcast.prep.scaling import apply, fit_scaler

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from synth import ar1, bars_from_log_returns


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lengths", default="3000,20000,100000")
    args = ap.parse_args()
    from lstmcast.forecasting.path import predict_path
    from lstmcast.registry.saved import LoadedModel
    from lstmcast.training.fitted import fit_forecaster

    cfg = TrainConfig(epochs=1, patience=100)
    # Exchange calendars do not reach 2183: the forecast's dates come from weekdays here, a
    # cost that does not depend on the series' length anyway (a cached lookup in real use).
    import lstmcast.forecasting.path as fc  # where predict_path looks the sessions up

    fc.next_sessions = (
        lambda last, k, cal, cache=None: [  # type: ignore[assignment]
            d.date() for d in pd.bdate_range(last, periods=k + 1)[1:]
        ]
    )
    cache = None
    print(f"{'bars':>8} {'windows s':>10} {'epoch s':>8} {'infer s':>8} {'forecast s':>11}"
          f" {'epoch s/1k bars':>16} {'peak RSS MB':>12}")  # fmt: skip
    for n in (int(x) for x in args.lengths.split(",")):
        bars, _ = ar1(n, phi=0.3, seed=1)
        # 100,000 business days span 383 years: start in 1800 so the dates stay in pandas'
        # nanosecond range (the forecast's calendar dates are then made up; see below).
        r = np.diff(np.log(bars["adj_close"].to_numpy()))
        series = Series("SYN", bars_from_log_returns(r, start="1800-01-01"), "synthetic")
        t0 = time.perf_counter()
        frame = frame_for(cfg, series.bars)
        seg = split_for(cfg, frame, "SYN")
        xs = apply(fit_scaler(frame.x[: seg.train_end]), frame.x)
        origins = seg.origins(cfg.window, cfg.horizon)["train"]
        x, _ = sample_arrays(xs, cfg.window, 1, origins)
        t_windows = time.perf_counter() - t0
        fitted = fit_forecaster(cfg, frame, seg.train_end, seg.val_end)
        t_epoch = fitted.outcome.seconds if fitted.outcome else float("nan")
        t0 = time.perf_counter()
        fitted.predict(frame, np.arange(cfg.window - 1, frame.n))
        t_infer = time.perf_counter() - t0
        manifest = {
            "residuals_log": [[0.01, -0.01, 0.02, -0.02]] * 20,
            "scaled_residuals_by_ticker": {"SYN": [[1.0, -1.0, 1.5, -1.5]] * 20},
            "data": {"last_date": str(frame.dates[-1].date())},
        }
        loaded = LoadedModel("bench", manifest, fitted, "SYN")
        t0 = time.perf_counter()
        predict_path(loaded, series, 5, "XNYS", method="scaled", sessions_cache=cache)
        t_forecast = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{n:8d} {t_windows:10.3f} {t_epoch:8.2f} {t_infer:8.2f} {t_forecast:11.3f}"
              f" {t_epoch / n * 1000:16.3f} {peak:12.0f}")  # fmt: skip
        del x


if __name__ == "__main__":
    main()
