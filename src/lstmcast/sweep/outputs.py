"""Sweep files: cells.csv, leaderboard.csv, and a PNG of skill with its spread per ticker and model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from lstmcast.paths import atomic_write_text, save_png
from lstmcast.sweep.leaderboard import ReturnRow
from lstmcast.sweep.volatility import VolRow

if TYPE_CHECKING:
    from lstmcast.sweep.run import SweepReport


def write_sweep(report: SweepReport, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    cells, board = out_dir / "cells.csv", out_dir / "leaderboard.csv"
    atomic_write_text(cells, pd.DataFrame(report.cells).to_csv(index=False))
    atomic_write_text(board, pd.DataFrame(report.leaderboard).to_csv(index=False))
    return [cells, board, _plot(report, out_dir / "skill.png")]


def _plot(report: SweepReport, path: Path) -> Path:
    """Skill vs naive per ticker and model, the seeds' spread as error bars, naive at zero."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows: list[ReturnRow | VolRow] = sorted(report.leaderboard, key=lambda r: (r.ticker, r.model))
    vol = bool(rows) and isinstance(rows[0], VolRow)
    against = "log-HAR, % of QLIKE" if vol else "naive, % of MSE"
    labels = [f"{r.ticker}\n{r.model}" for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(rows) + 2), 4.5))
    ax.errorbar(
        range(len(rows)),
        [(r.skill_vs_har if isinstance(r, VolRow) else r.skill_vs_naive) * 100 for r in rows],
        yerr=[r.skill_seed_std * 100 for r in rows],
        fmt="o",
        color="tab:blue",
        capsize=3,
    )
    ax.axhline(0, color="black", lw=0.8)  # named in the axis label: a legend inside hid a point
    ax.set_xticks(range(len(rows)), labels, fontsize=8)
    zero = "log-HAR" if vol else "naive"
    ax.set_ylabel(f"skill vs {against}\n(seeds' average; bars: their spread; 0: {zero})")
    beaten = "log-HAR" if vol else "the random walk"
    beat = f"{report.beat_naive} of {len(rows)} rows beat {beaten} after adjustment"
    ax.set_title(f"sweep {report.sweep_id}\n{beat}", fontsize=10)
    return save_png(fig, path)
