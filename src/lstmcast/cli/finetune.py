"""`lstmcast finetune`: adapt a trained model to one ticker with a tiny learning rate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lstmcast.cli.common import emit_json, fmt, guarded, interactive, out_console, pct, store_of, warn
from lstmcast.cli.options import FreezeName, Json
from lstmcast.cli.progress import epoch_progress
from lstmcast.config import FINETUNE_LR
from lstmcast.settings import VOL_LABELS
from lstmcast.target import target_of

if TYPE_CHECKING:
    from lstmcast.data.series import Series
    from lstmcast.jobs.train import FinetuneReport
    from lstmcast.registry.saved import LoadedModel
    from lstmcast.store.db import Store


@guarded
def finetune_cli(
    ctx: typer.Context,
    model_id: Annotated[str, typer.Argument(help="The model to start from (often a global one).")],
    ticker: Annotated[str, typer.Argument(help="The stored ticker to adapt it to.")],
    lr: Annotated[
        float | None,
        typer.Option(help=f"Learning rate (default: {FINETUNE_LR:g}, a tiny step).", show_default=False),
    ] = None,
    freeze: Annotated[
        FreezeName, typer.Option(help="encoder: train only the output head; none: train everything.")
    ] = "none",
    epochs: Annotated[
        int | None, typer.Option(help="Maximum epochs (default: the parent's).", show_default=False)
    ] = None,
    allow_overlap: Annotated[
        bool,
        typer.Option(
            "--allow-overlap", help="Go on (with a warning) when the parent saw this ticker's test dates."
        ),
    ] = False,
    as_json: Json = False,
) -> None:
    """Fine-tune MODEL_ID on TICKER's training segment; compare before, after, from scratch and naive."""
    from lstmcast.data.series import load_stored
    from lstmcast.registry.saved import load_model

    store = store_of(ctx)
    parent = load_model(store, model_id, engine="torch")  # fine-tuning needs the weights
    series = load_stored(store, ticker).with_exog(store, parent.config.exog)
    run = _BY_FAMILY[target_of(parent.config.target).family]
    run(store, parent, series, lr or FINETUNE_LR, freeze, epochs, allow_overlap, as_json)


def _finetune_returns(
    store: Store, parent: LoadedModel, series: Series, lr: float, freeze: str, epochs: int | None,
    allow_overlap: bool, as_json: bool,
) -> None:  # fmt: skip
    from lstmcast.jobs.train import finetune

    with epoch_progress(
        epochs or parent.config.epochs, f"{series.ticker} fine-tune", interactive()
    ) as on_epoch:
        report = finetune(
            store,
            parent,
            series,
            lr=lr,
            freeze=freeze,
            epochs=epochs,
            on_epoch=on_epoch,
            allow_overlap=allow_overlap,
        )
    for w in report.warnings:
        warn(w)
    if as_json:
        emit_json(report)
    else:
        render_finetune(report)


def render_finetune(report: FinetuneReport) -> None:
    t = Table(
        "forecaster",
        "MAE",
        "RMSE",
        "dir. acc",
        "skill vs naive",
        "DM p vs naive",
        title=f"{report.ticker} test {'..'.join(report.segments['test'])}: fine-tuned from {report.parent}",
        title_justify="left",
    )
    labels = {
        "before": "parent, as is",
        "after": f"fine-tuned (lr {report.lr:g}, freeze {report.freeze})",
        "scratch": "trained from scratch",
    }
    for name, m in report.test.items():
        t.add_row(
            labels.get(name, name),
            fmt(m.mae, 5),
            fmt(m.rmse, 5),
            pct(m.directional_accuracy).lstrip("+"),
            pct(m.skill_vs_naive, 2),
            fmt(report.dm_pvalue.get(name), 3),
        )
    out_console().print(t)
    out_console().print(f"saved {report.model_id} (parent {report.parent})")


def _finetune_volatility(
    store: Store, parent: LoadedModel, series: Series, lr: float, freeze: str, epochs: int | None,
    allow_overlap: bool, as_json: bool,
) -> None:  # fmt: skip
    from lstmcast.jobs.train import finetune_volatility_model

    vol = finetune_volatility_model(store, parent, series, lr, freeze, epochs, allow_overlap)
    for w in vol.warnings:
        warn(w)
    if as_json:
        emit_json(vol)
        return
    t = Table(
        "forecaster", "QLIKE", "skill vs log-HAR", "DM p",
        title=f"{vol.ticker} volatility, test {'..'.join(vol.segments['test'])}: fine-tuned from"
        f" {vol.parent} (skill against {VOL_LABELS[vol.benchmark]})",
        title_justify="left",
    )  # fmt: skip
    for name, r in vol.test.items():
        t.add_row(name, fmt(r.qlike, 4), pct(r.skill_vs_har, 1), fmt(r.dm_pvalue, 3))
    out_console().print(t)
    out_console().print(f"saved as {vol.model_id}")


# The fine-tuning of each family of target a one-ticker model can have.
_BY_FAMILY = {"return": _finetune_returns, "volatility": _finetune_volatility}
