"""Tune files: trials.csv, best.toml and a PNG of the search and of its optimism."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from lstmcast.errors import ConfigError
from lstmcast.paths import atomic_write_bytes, atomic_write_text, save_png
from lstmcast.store.tunes import TrialRecord
from lstmcast.target import target_of
from lstmcast.tickers import file_safe
from lstmcast.tuning.report import TuneReport


def trial_rows(trials: list[TrialRecord]) -> list[dict[str, object]]:
    """Every trial in one flat row: fold, number, state, inner score, its settings, the error."""
    return [
        {
            "fold": t.fold,
            "number": t.number,
            "state": t.state.value,
            "inner_score": t.value,
            **{f"param_{k}": v for k, v in t.params.items()},
            "seconds": t.seconds,
            "error": t.error,
        }
        for t in trials
    ]


def tune_files(out_dir: Path, ticker: str) -> tuple[Path, Path, Path]:
    """Where `--out` puts a ticker's trials, best settings and figure."""
    name = file_safe(ticker)
    return out_dir / f"trials-{name}.csv", out_dir / f"best-{name}.toml", out_dir / f"tune-{name}.png"


def check_tune_files(out_dir: Path, tickers: list[str]) -> None:
    """Refuse, before the search, an --out whose file names are taken by folders."""
    for ticker in tickers:
        for path in tune_files(out_dir, ticker):
            if path.is_dir():
                raise ConfigError(f"{path} is a directory: move it, or give another --out")


def write_tune(report: TuneReport, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    trials, best, figure = tune_files(out_dir, report.ticker)
    atomic_write_text(trials, pd.DataFrame(trial_rows(report.trials)).to_csv(index=False))
    # Through the link-safe writer, as every file lstmcast writes: a planted link is replaced,
    # never followed (shutil.copyfile would overwrite whatever it points to).
    atomic_write_bytes(best, Path(report.best_config_path).read_bytes())
    return [trials, best, plot_tune(report.doc, report.trials, figure)]


def plot_tune(doc: dict[str, Any], trials: list[TrialRecord], path: Path) -> Path:
    """Left: every trial's inner score by the order it finished in, one colour per outer fold,
    with each fold's running best. Right: per outer fold, the inner-best score against the
    outer skill of the same settings (the gap is the search's optimism) and the starting
    settings' outer skill."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    target = target_of(doc["target"])
    unit = f"{target.score} skill vs {target.benchmark}, %"
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for k, row in enumerate(doc["outer"]):
        mine = sorted((t for t in trials if t.fold == row["fold"] and t.complete), key=lambda t: t.number)
        xs = [t.number for t in mine]
        ys = [(t.value or 0.0) * 100 for t in mine]
        colour = f"C{k % 10}"
        left.scatter(xs, ys, s=12, color=colour, alpha=0.6, label=f"fold {row['fold']}")
        if ys:
            left.plot(xs, pd.Series(ys).cummax(), color=colour, lw=1)
    left.axhline(0, color="black", lw=0.8)
    left.xaxis.set_major_locator(MaxNLocator(integer=True))  # trials are numbered
    left.set_xlabel("trial")
    left.set_ylabel(f"inner score ({unit})")
    states = doc["states"]
    left.set_title(
        f"{doc['trials']} trials: {states['complete']} complete, {states['pruned']} pruned,"
        f" {states['failed']} failed",
        fontsize=10,
    )
    left.legend(fontsize=7, loc="lower right")
    folds = [r["fold"] for r in doc["outer"]]
    pick = [(r["inner_score"] or 0) * 100 for r in doc["outer"]]
    got = [(r["outer_skill"] or 0) * 100 for r in doc["outer"]]
    start = [(r["start_outer_skill"] or 0) * 100 for r in doc["outer"]]
    right.plot(folds, pick, "o-", color="tab:orange", label="inner best (what the search saw)")
    right.plot(folds, got, "o-", color="tab:blue", label="tuned, outer (never seen by the search)")
    right.plot(folds, start, "s--", color="tab:gray", label="starting settings, outer")
    right.axhline(0, color="black", lw=0.8)
    right.set_xticks(folds)
    right.set_xlabel("outer fold")
    right.set_ylabel(unit)
    right.set_title("optimism: the inner best minus the outer skill of the same settings", fontsize=9)
    right.legend(fontsize=7)
    fig.suptitle(f"tune {doc['tune_id']}: {doc['ticker']} {doc['model']}; {doc['verdict']}", fontsize=10)
    return save_png(fig, path)
