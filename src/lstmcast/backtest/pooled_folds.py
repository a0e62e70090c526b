"""Walk-forward folds of a global model: each fold trains one network on every ticker's rows
dated before the fold's cutoff, and is scored on the target ticker."""

from __future__ import annotations

from collections.abc import Callable

from lstmcast.backtest.walkforward import fit_split
from lstmcast.config import TrainConfig
from lstmcast.prep.dataset import Frame, Segments, row_at
from lstmcast.settings import MIN_EVAL_SAMPLES, MIN_TRAIN_SAMPLES
from lstmcast.training.fitted import Fitted
from lstmcast.training.pooled import Member, fit_global, view_for


def fold_fitter(target: str, others: dict[str, Frame]) -> Callable[..., Fitted]:
    """A walk-forward fit function for `target` that trains one global model on every
    ticker's rows dated before the fold's cutoff (and after its start, when sliding)."""

    def fit_pooled_fold(cfg: TrainConfig, frame: Frame, lo: int, cutoff: int, init: Fitted | None) -> Fitted:
        start, stop = frame.dates[lo], frame.dates[cutoff]
        known = {target: frame.slice(lo, cutoff)}
        for t, f in others.items():
            a, b = row_at(f.dates, start), row_at(f.dates, stop)  # dates < cutoff date only
            known[t] = f.slice(a, b)
        train_end, _ = fit_split(cfg, known[target].n)
        val_start = known[target].dates[train_end]
        members = []
        for t, f in known.items():
            seg = Segments(row_at(f.dates, val_start), f.n, f.n)
            o = seg.origins(cfg.window, cfg.horizon)
            if t == target or (len(o["train"]) >= MIN_TRAIN_SAMPLES and len(o["val"]) >= MIN_EVAL_SAMPLES):
                members.append(Member(t, f, seg))  # a ticker with too little history yet sits this fold out
        scalers, fitted = fit_global(cfg, members, init=init.state if init is not None else None)
        return view_for(fitted, scalers, list(cfg.embedding_tickers) or [m.ticker for m in members], target)

    return fit_pooled_fold
