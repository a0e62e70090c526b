"""Interval methods side by side on the sample tickers: calibration in calm and turbulent markets.

    .venv/bin/python benchmarks/bench_intervals.py [--model cnn] [--epochs 30]

For each sample ticker, one walk-forward over its last 40% (5 folds); the one-step 80% and 95%
intervals of every method (`vol`: errors over the volatility log-HAR forecasts from the
daily range, refitted per fold, with ACI) are built bar by bar from the same forecasts and
scored: coverage,
coverage by tercile of ex-ante volatility (calm, middle, turbulent) and its spread, Kupiec p,
Christoffersen p, conditional coverage p, width and the Winkler score. `scaled*` is plain
RiskMetrics EWMA (no shrinkage to the long-run variance), shown for comparison.

Then the calibration pool: the intervals start from the first fit's validation errors, on
which early stopping chose the epoch (a choice that could make them optimistic). The
one-step errors of the first test block are covered by intervals made from that validation
pool alone; that mixes the choice with a change of regime (fold 1 starts in late 2007). The
choice alone: each fold is refitted with early stopping deciding on the even validation
origins only, and the errors there (chosen on) are compared with those at the odd origins
(same weeks, unseen by the choice): a ratio near 1 means the choice's optimism is negligible.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from lstmcast.backtest.run import ReturnBacktest, backtest, walk_forward_intervals
from lstmcast.backtest.walkforward import fit_fold, plan_folds, validation_origins
from lstmcast.config import TrainConfig
from lstmcast.data.series import load_csv
from lstmcast.evaluation.intervals import quantile_pair
from lstmcast.evaluation.scoring import origin_sigma, path_errors
from lstmcast.runconfig import BacktestConfig
from lstmcast.training import fitted as fitted_module

TICKERS = ("AAPL", "MSFT", "IBM", "GOOG")
METHODS = (("empirical", None), ("scaled*", 0.0), ("scaled", None), ("aci", None), ("vol", None))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="cnn")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--data", type=Path, default=Path("sample_data"))
    args = ap.parse_args()
    cfg = TrainConfig(model=args.model, epochs=args.epochs)
    bt = BacktestConfig(folds=5, test_size=0.4)
    table: dict[str, dict[str, list[float]]] = {}
    results: dict[str, tuple[ReturnBacktest, float]] = {}
    for ticker in TICKERS:
        t0 = time.perf_counter()
        results[ticker] = backtest(cfg, bt, load_csv(args.data / f"{ticker}.csv", ticker)), 0.0
        results[ticker] = results[ticker][0], time.perf_counter() - t0
    for level in (0.8, 0.95):
        label = f"{level * 100:g}"
        print(f"\n{label}% one-step intervals, walk-forward over the last 40% ({args.model})")
        print(f"{'ticker':6} {'method':10} {'cover':>6} {'calm':>6} {'mid':>6} {'turb':>6} {'spread':>7}"
              f" {'kupiec p':>9} {'christ. p':>9} {'cc p':>7} {'width':>7} {'winkler':>8}")  # fmt: skip
        for ticker in TICKERS:
            result, seconds = results[ticker]
            run = result.outcome.first
            for name, shrink in METHODS:
                _, scores = walk_forward_intervals(result.frame, run.wf, name.rstrip("*"), shrink=shrink)
                s = scores[label]
                terc = s["coverage_by_vol_tercile"]
                spread = max(terc) - min(terc)
                row = table.setdefault(label, {}).setdefault(name, [])
                row.append(s["winkler"])
                table[label].setdefault(name + ":spread", []).append(spread)
                table[label].setdefault(name + ":kupiec", []).append(s["kupiec_p"])
                table[label].setdefault(name + ":cover", []).append(s["coverage"])
                table[label].setdefault(name + ":terc", []).extend(terc)
                table[label].setdefault(name + ":christ", []).append(s["christoffersen_p"])
                table[label].setdefault(name + ":cc", []).append(s["conditional_coverage_p"])
                print(
                    f"{ticker:6} {name:10} {s['coverage']:6.1%} {terc[0]:6.1%} {terc[1]:6.1%} {terc[2]:6.1%}"
                    f" {spread * 100:6.1f}p {s['kupiec_p']:9.3f} {s['christoffersen_p']:9.3f}"
                    f" {s['conditional_coverage_p']:7.3f} {s['width']:7.4f} {s['winkler']:8.5f}"
                )
            skill = run.scores.target["model"].skill_vs_naive
            print(f"       ({seconds:.0f}s, skill vs naive {skill:+.2%})")
    for label, rows in table.items():
        print(
            f"\nsummary {label}%: method, mean Winkler, max |coverage - nominal|, max spread, worst"
            " |tercile - nominal|, Kupiec / Christoffersen / conditional coverage p > 0.05"
        )
        nominal = float(label) / 100
        for name, _ in METHODS:
            cover_err = max(abs(c - nominal) for c in rows[name + ":cover"])
            terc_err = max(abs(c - nominal) for c in rows[name + ":terc"])
            ok = [sum(p > 0.05 for p in rows[f"{name}:{k}"]) for k in ("kupiec", "christ", "cc")]
            print(
                f"  {name:10} {np.mean(rows[name]):.5f}  {cover_err * 100:4.1f}p"
                f"  {max(rows[name + ':spread']) * 100:4.1f}p  {terc_err * 100:4.1f}p"
                f"  {ok[0]}/{len(TICKERS)} {ok[1]}/{len(TICKERS)} {ok[2]}/{len(TICKERS)}"
            )

    print("\ncalibration pool: fold 1's one-step test outcomes covered by intervals from the")
    print("first fit's validation errors alone (early stopping chose the epoch on them)")
    print(f"{'ticker':6} {'pool':>5} {'n':>5} {'80% empirical':>14} {'80% scaled':>11} {'95% empirical':>14}"
          f" {'95% scaled':>11} {'width val/test 80%':>19}")  # fmt: skip
    for ticker in TICKERS:
        result, _ = results[ticker]
        print(f"{ticker:6} {pool_check(result)}")
    print("\nthe choice alone: early stopping on even validation origins; odd (unseen) / even (chosen on)")
    print(f"{'ticker':6} {'folds':>5} {'MSE ratio':>10} {'80% width':>10} {'95% width':>10}")
    ratios = []
    for ticker in TICKERS:
        result, _ = results[ticker]
        per_fold = [choice_optimism(cfg, result, fold) for fold in plan_folds(result.frame, cfg, bt)]
        ratios.extend(per_fold)
        mean = np.mean(per_fold, axis=0)
        print(f"{ticker:6} {len(per_fold):5d} {mean[0]:10.3f} {mean[1]:10.3f} {mean[2]:10.3f}")
    r = np.array(ratios)
    print(
        f"all    {len(r):5d} {r[:, 0].mean():10.3f} {r[:, 1].mean():10.3f} {r[:, 2].mean():10.3f}"
        f"  (fold-to-fold sd {r[:, 0].std(ddof=1):.3f}, {r[:, 1].std(ddof=1):.3f}, {r[:, 2].std(ddof=1):.3f})"
    )


def choice_optimism(cfg: TrainConfig, result: ReturnBacktest, fold: object) -> tuple[float, float, float]:
    """Refit `fold` with early stopping on the even validation origins only; (MSE, 80% width,
    95% width) of the one-step errors at the odd origins over those at the even ones."""
    plain = fitted_module.fit

    def half(model, train, val, config, gen, *rest):  # type: ignore[no-untyped-def]
        return plain(model, train, (val[0][::2], val[1][::2]), config, gen, *rest)

    fitted_module.fit = half  # type: ignore[assignment]
    try:
        fitted = fit_fold(cfg, result.frame, fold.lo, fold.cutoff)  # type: ignore[attr-defined]
    finally:
        fitted_module.fit = plain  # type: ignore[assignment]
    at = validation_origins(cfg, fold.lo, fold.cutoff)  # type: ignore[attr-defined]
    e = path_errors(result.frame, at, fitted.predict(result.frame, at))[:, 0]
    chosen, unseen = e[::2], e[1::2]

    def width(x: np.ndarray, level: float) -> float:
        lo, hi = quantile_pair(x, 1 - level)
        return hi - lo

    return (
        float(np.mean(unseen**2) / np.mean(chosen**2)),
        width(unseen, 0.8) / width(chosen, 0.8),
        width(unseen, 0.95) / width(chosen, 0.95),
    )


def pool_check(result: ReturnBacktest) -> str:
    """Coverage of fold 1's one-step outcomes by the validation pool's interval, and the ratio
    of the pool's 80% width to the one the test errors themselves would give."""
    frame, wf = result.frame, result.outcome.first.wf
    seed = path_errors(frame, wf.calib_at, wf.calib_preds)[:, 0]
    seed_sigma = origin_sigma(frame, wf.calib_at)
    first = wf.fold_of == 1
    at = wf.at[first]
    test = path_errors(frame, at, wf.preds["model"][first])[:, 0]
    sigma = origin_sigma(frame, at)
    cells = []
    for level in (0.8, 0.95):
        lo, hi = quantile_pair(seed, 1 - level)
        cells.append(f"{np.mean((test >= lo) & (test <= hi)):14.1%}")
        lo, hi = quantile_pair(seed / seed_sigma, 1 - level)
        cells.append(f"{np.mean((test >= lo * sigma) & (test <= hi * sigma)):11.1%}")
    lo, hi = quantile_pair(seed, 0.2)
    t_lo, t_hi = quantile_pair(test, 0.2)
    return f"{len(seed):5d} {len(test):5d} {' '.join(cells)} {(hi - lo) / (t_hi - t_lo):19.2f}"


if __name__ == "__main__":
    main()
