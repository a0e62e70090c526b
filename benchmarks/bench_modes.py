"""Plain vs stateful vs global vs fine-tuned LSTM, judged by the same walk-forward backtest
on the real sample tickers. Whatever the result, it goes into the README as it is.

    .venv/bin/python benchmarks/bench_modes.py [--epochs 5] [--folds 3]

Every mode sees, at each fold, only rows dated before the fold's cutoff:
- plain:      one LSTM per ticker, windows of 30 bars;
- stateful:   the same LSTM trained with carried state (TBPTT over 30-bar chunks);
- global:     one LSTM over AAPL, MSFT, IBM and GOOG (each scaled on its own rows);
- fine-tuned: the global model of the other three tickers, fine-tuned on the target (lr 1e-4).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lstmcast.backtest.pooled_folds import fold_fitter
from lstmcast.backtest.run import backtest
from lstmcast.config import TrainConfig
from lstmcast.data.series import load_csv
from lstmcast.prep.dataset import Frame
from lstmcast.prep.inputs import frame_for
from lstmcast.runconfig import BacktestConfig
from lstmcast.training.fitted import Fitted, fit_forecaster

TICKERS = ("AAPL", "MSFT", "IBM", "GOOG")


def finetuned_fitter(target: str, others: dict[str, Frame]):  # type: ignore[no-untyped-def]
    """Per fold: a global model of the other tickers (rows before the cutoff), then fine-tuned
    on the target's own rows before the cutoff."""
    parent_fit = fold_fitter(next(iter(others)), {k: v for k, v in list(others.items())[1:]})
    first = next(iter(others.values()))

    def fit(cfg: TrainConfig, frame: Frame, lo: int, cutoff: int, init: Fitted | None) -> Fitted:
        stop = frame.dates[cutoff]
        n_first = int((first.dates < stop).sum())
        parent = parent_fit(cfg, first, 0, n_first, None)
        from lstmcast.backtest.walkforward import fit_split

        known = frame.slice(lo, cutoff)
        train_end, val_end = fit_split(cfg, known.n)
        return fit_forecaster(cfg, known, train_end, val_end, init=parent, lr=1e-4)

    return fit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--targets", default="AAPL,MSFT")
    args = ap.parse_args()
    data = {t: load_csv(Path(f"sample_data/{t}.csv")) for t in TICKERS}
    cfg = TrainConfig(model="lstm", window=30, hidden=32, layers=1, epochs=args.epochs, patience=3, threads=0)
    bt = BacktestConfig(folds=args.folds, test_size=0.2)
    rows = []
    for target in args.targets.split(","):
        series = data[target]
        others = [data[t] for t in TICKERS if t != target]
        modes: dict[str, tuple[TrainConfig, object]] = {
            "plain": (cfg, None),
            "stateful": (cfg.replace(stateful=True), None),
            "global": (cfg, "global"),
            "fine-tuned": (cfg, "finetune"),
        }
        for name, (c, kind) in modes.items():
            t0 = time.perf_counter()
            if kind == "finetune":
                import lstmcast.backtest.run as run
                from lstmcast.backtest.walkforward import walk_forward

                frames = {o.ticker: frame_for(c, o.bars) for o in others}
                frame = frame_for(c, series.bars)
                outcome = run.score_seed(
                    frame, walk_forward(c, frame, bt, finetuned_fitter(target, frames)), bt
                )
            else:
                outcome = backtest(c, bt, series, others if kind == "global" else None).outcome.first
            m = outcome.scores.target["model"]
            row = (
                target,
                name,
                m.skill_vs_naive,
                outcome.dm_pvalue,
                m.directional_accuracy,
                time.perf_counter() - t0,
            )
            rows.append(row)
            print(f"  {target} {name}: done in {row[-1]:.0f}s", flush=True)
    print(f"\nwalk-forward, {args.folds} folds over the last 20%, LSTM 1x32, window 30, {args.epochs} epochs")
    print("| ticker | mode | skill vs naive (MSE) | DM p vs naive | directional accuracy | seconds |")
    print("|---|---|---|---|---|---|")
    for t, name, skill, p, da, secs in rows:
        print(f"| {t} | {name} | {skill:+.2%} | {p:.2f} | {da:.1%} | {secs:.0f} |")


if __name__ == "__main__":
    main()
