"""Rich tables for metrics: the model always beside naive, drift and linear."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.table import Table

from lstmcast.cli import readings
from lstmcast.cli.common import fmt, pct
from lstmcast.cli.tables import optional
from lstmcast.settings import BASELINE_NAMES, VOL_LABELS
from lstmcast.target import target_of

if TYPE_CHECKING:
    from lstmcast.evaluation.intervals import IntervalScores
    from lstmcast.evaluation.metrics import Metrics
    from lstmcast.evaluation.verdict import Comparison, Verdict
    from lstmcast.evaluation.volatility import Against, VolScores


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def metrics_table(
    title: str, target: dict[str, Metrics], price: dict[str, Metrics], target_name: str
) -> Table:
    """One row per forecaster; target-unit and price-unit errors side by side. Prices are
    adjusted closes (dividends and splits folded in), so they sit below the quoted closes."""
    unit = target_of(target_name).unit
    table = Table(title=title, title_justify="left")
    table.add_column("forecaster", justify="left")
    for col in (
        f"MAE ({unit})",
        f"RMSE ({unit})",
        "MAE (adj $)",
        "RMSE (adj $)",
        "MAPE",
        "MASE",
        "rel. MAE",
        "dir. acc",
        "p(PT)",
        "skill vs naive",
    ):
        table.add_column(col, justify="right")
    for name in target:
        t, p = target[name], price[name]
        table.add_row(
            name,
            fmt(t.mae, 5 if unit == "ret" else 2),
            fmt(t.rmse, 5 if unit == "ret" else 2),
            fmt(p.mae, 2),
            fmt(p.rmse, 2),
            pct(p.mape, 2).lstrip("+"),
            fmt(t.mase, 3),  # in target units: scale-free whatever the price level did
            fmt(t.rel_mae, 3),
            pct(t.directional_accuracy).lstrip("+") if t.directional_accuracy is not None else "–",
            _p(t.directional_pvalue),
            pct(t.skill_vs_naive, 2),
        )
    return table


def _pv(c: Comparison) -> str:
    test = "Clark-West" if c.test == "clark_west" else "DM"
    return "" if c.pvalue is None else f" ({test} p {_p(c.pvalue)})"


def verdict(v: Verdict | None) -> str:
    """One honest sentence: against the random walk (Clark-West: the network nests it), then
    against the best baseline when that is another one (Diebold-Mariano against linear)."""
    if v is None or not math.isfinite(v.vs_naive.skill):
        return "no verdict: skill is undefined"
    rw, best = v.vs_naive, v.vs_best
    skill = rw.skill
    if rw.better:
        text = f"[green]beats the random walk[/green] by {skill:.2%} in MSE{_pv(rw)}"
    elif skill > 0:
        text = f"[yellow]not significantly better than the random walk[/yellow]: {skill:+.2%} in MSE{_pv(rw)}"
    else:
        text = f"[red]does not beat the random walk[/red]: {skill:+.2%} in MSE{_pv(rw)}"
    if v.best_baseline != "naive" and math.isfinite(best.skill):
        name = BASELINE_NAMES.get(v.best_baseline, v.best_baseline)
        against = f"{best.skill:+.2%}{_pv(best)}"
        if best.better:
            text += f"; {'and' if rw.better else 'yet it'} beats {name}, the best baseline, by {against}"
        elif best.worse:
            joint = "but" if rw.better else "and"
            text += f"; [red]{joint} is significantly worse than {name}[/red]: {against}"
        else:
            text += f"; {'but not' if rw.better else 'nor'} {name}, the best baseline: {against}"
    return text + (f" [{v.forecast}]" if v.forecast != "one seed" else "")


def interval_cells(s: IntervalScores) -> list[str]:
    """Coverage, coverage by volatility tercile (calm, middle, turbulent) and width of one
    level's interval scores, as table cells."""
    share = [pct(v).lstrip("+") for v in (s.coverage, *s.coverage_by_vol_tercile)]
    return [*share, pct(s.width, 2).lstrip("+")]


def vol_scores_table(
    vol: VolScores, annualised: dict[str, float], model: str, title: str, var: bool
) -> Table:
    """Every forecaster's volatility scores, the model first: mean forecast (`annualised`),
    QLIKE, skill against log-HAR (the benchmark), the leverage HAR and naive, MSE,
    Mincer-Zarnowitz R^2, MCS membership, and with `var` the value-at-risk hits with their
    Kupiec p."""
    used = VOL_LABELS[vol.benchmark]
    t = Table(title=title, title_justify="left")
    columns = [
        "forecaster",
        "mean vol",
        "QLIKE",
        f"skill vs {used}",
        "vs lev. HAR",
        "skill vs naive",
        "MSE",
        "MZ R²",
        "90% MCS",
    ]
    for col in columns:
        t.add_column(col, justify="left" if col == "forecaster" else "right")
    for col in ["VaR 95% hits (p)", "VaR 99% hits (p)"] if var else []:
        t.add_column(col, justify="right", no_wrap=True)  # a hit rate and its Kupiec p, one line
    optional(t, "MSE", "MZ R²", "VaR 99% hits (p)", "skill vs naive", "mean vol", wide=True)
    for name in sorted(vol.scores, key=lambda n: n != "model"):
        sc = vol.scores[name]
        cells = [
            model if name == "model" else VOL_LABELS[name],
            f"{annualised[name]:.1f}%",
            fmt(sc.qlike, 4),
            pct(sc.skill_vs_har, 1),
            pct(sc.skill_vs["har_lev"], 1),
            pct(sc.skill_vs_naive, 1),
            fmt(sc.mse, 3),
            fmt(sc.mz_r2, 3),
            "in" if name in vol.mcs else "–",
        ]
        if var:
            cells += [
                f"{pct(sc.var[lv].hit_rate).lstrip('+')} ({fmt(sc.var[lv].kupiec_p, 2)})"
                for lv in ("95", "99")
            ]
        t.add_row(*cells)
    return t


def vol_sensitivity(vol: VolScores) -> list[str]:
    """The headline's robustness in two lines: the model's QLIKE skill and DM p against each
    HAR, as forecast and with every forecaster under one rolling recalibration."""
    recal = vol.recalibrated

    def against(skill_vs: dict[str, float], dm: dict[str, Against]) -> str:
        cells = []
        for name in ("har_log", "har_lev", "har"):
            p = dm[name].pvalue
            test = "" if p is None else f" (DM p {_p(p)})"
            cells.append(f"{VOL_LABELS[name]} {skill_vs[name]:+.1%}{test}")
        return ", ".join(cells)

    return [
        f"against each HAR: {against(vol.scores['model'].skill_vs, vol.dm)}",
        f"all recalibrated (rolling {recal.window} origins):"
        f" {against(recal.scores['model'].skill_vs, recal.dm)}",
    ]


def vol_verdict(vol: VolScores) -> str:
    """One sentence against the pre-specified benchmark (log-HAR): QLIKE skill, DM p, and the
    90% MCS. `vol_sensitivity` says how it fares against the other HARs and recalibrated."""
    used = VOL_LABELS[vol.benchmark]
    skill = vol.scores["model"].skill_vs_har
    p = vol.dm_vs_har.pvalue
    test = "" if p is None else f" (DM p {_p(p)})"
    if skill > 0 and p is not None and p < 0.05:
        text = f"[green]beats {used}[/green] by {skill:.1%} in QLIKE{test}"
    elif skill > 0:
        text = f"[yellow]not significantly better than {used}[/yellow]: {skill:+.1%} in QLIKE{test}"
    else:
        text = f"[red]does not beat {used}[/red]: {skill:+.1%} in QLIKE{test}"
    plain = readings.qlike_skill(skill, used)
    if plain is not None:
        text += f" ({plain})"
    mcs = vol.mcs
    others = [VOL_LABELS.get(n, n) for n in mcs if n != "model"]
    if "model" in mcs:
        # "Alone" only where the max statistic agrees: the set can hang on the statistic used.
        by_max = [n for n, p in vol.mcs_pvalues.items() if p.get("max", 0.0) >= vol.mcs_size]
        alone = ", alone" if by_max == ["model"] else " (alone by the range statistic, not by the max)"
        with_ = f" with {', '.join(others)}" if others else alone
        text += f"; in the 90% MCS{with_}"
    else:
        text += f"; [red]outside the 90% MCS[/red] ({', '.join(others)})"
    return text
