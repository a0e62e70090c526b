"""Global models: one network trained on windows drawn from several tickers at once.

Each ticker keeps its own scaler, fitted on its own training rows; all tickers are split in
time at the same two dates, so no ticker's validation or test period feeds another's fit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.errors import ConfigError, DataError
from lstmcast.evaluation.metrics import score
from lstmcast.evaluation.scoring import BlockForecasts, Scores, actuals, concat_scales, to_price
from lstmcast.inference.predictor import with_ticker_id
from lstmcast.prep.dataset import Frame, Segments, fit_origins, row_at, sample_arrays
from lstmcast.prep.inputs import frame_for, split_for
from lstmcast.prep.scaling import Scaler, apply, fit_scaler
from lstmcast.training import runtime
from lstmcast.training.fitted import Fitted
from lstmcast.training.loop import fit
from lstmcast.training.watch import EpochLog


@dataclass
class Member:
    ticker: str
    frame: Frame
    segments: Segments


def split_dates(frames: list[Frame], val_frac: float, test_frac: float) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Validation and test start dates, placed on the union of all tickers' dates."""
    union = frames[0].dates
    for f in frames[1:]:
        union = union.union(f.dates)
    n = len(union)
    return union[n - round(n * (val_frac + test_frac))], union[n - round(n * test_frac)]


def members_at(frames: dict[str, Frame], val_start: pd.Timestamp, test_start: pd.Timestamp) -> list[Member]:
    out = []
    for ticker, frame in frames.items():
        a, b = row_at(frame.dates, val_start), row_at(frame.dates, test_start)
        out.append(Member(ticker, frame, Segments(a, b, frame.n)))
    return out


def fit_global(
    config: TrainConfig,
    members: list[Member],
    on_epoch: Callable[[EpochLog], None] | None = None,
    init: dict[str, torch.Tensor] | None = None,
) -> tuple[dict[str, Scaler], Fitted]:
    """Train one network on every member's training windows; returns each ticker's scaler and
    the fitted network (viewed as the first member; its weights are `.state`)."""
    if config.stateful:
        raise ConfigError("--stateful follows one series; it cannot be combined with several tickers")
    gen, device = runtime.prepare(config.threads, config.seed, config.device)
    scalers: dict[str, Scaler] = {}
    parts: dict[str, list[np.ndarray]] = {"xtr": [], "ytr": [], "xva": [], "yva": []}
    for i, m in enumerate(members):
        seg = m.segments
        scalers[m.ticker] = fit_scaler(m.frame.x[: seg.train_end])  # this ticker's training rows only
        xs = apply(scalers[m.ticker], m.frame.x[: seg.val_end])
        o = fit_origins(seg.train_end, seg.val_end, config.window, config.horizon)
        for part, key in (("tr", "train"), ("va", "val")):
            x, y = sample_arrays(xs, config.window, config.horizon, o[key])
            parts["x" + part].append(with_ticker_id(x, config, i))
            parts["y" + part].append(y)
    xtr, ytr, xva, yva = (torch.from_numpy(np.concatenate(parts[k])).float().to(device) for k in parts)
    from lstmcast.models import build_model

    model = build_model(config, xtr.shape[2])
    if init is not None:
        model.load_state_dict(init)
    model = model.to(device)
    outcome = fit(model, (xtr, ytr), (xva, yva), config, gen, on_epoch)
    first = members[0]
    view = Fitted(
        config=config,
        columns=first.frame.columns,
        scaler=scalers[first.ticker],
        state=outcome.state,
        device=str(device),
        outcome=outcome,
        _module=model.eval(),
    )
    return scalers, view


def view_for(fitted: Fitted, scalers: dict[str, Scaler], tickers: list[str], ticker: str) -> Fitted:
    """The shared network seen as one member: its scaler and its embedding row."""
    return fitted.replace(scaler=scalers[ticker], ticker_id=tickers.index(ticker))


def pool_blocks(blocks: list[tuple[Frame, BlockForecasts]]) -> Scores:
    """Metrics over every member's test forecasts together (returns are comparable across tickers)."""
    names = list(blocks[0][1].by_name)
    y: dict[str, list[np.ndarray]] = {k: [] for k in names}
    p: dict[str, list[np.ndarray]] = {k: [] for k in names}
    truths, ptruths, lasts = [], [], []
    for frame, block in blocks:
        horizon = block.by_name["model"].shape[1]
        yt, pt = actuals(frame, block.at, horizon)
        truths.append(yt)
        ptruths.append(pt)
        lasts.append(frame.price[block.at])
        for k in names:
            y[k].append(block.by_name[k])
            p[k].append(to_price(frame, block.at, block.by_name[k]))
    yt, pt, last = np.concatenate(truths), np.concatenate(ptruths), np.concatenate(lasts)
    naive_t, naive_p = np.concatenate(y["naive"]), np.concatenate(p["naive"])
    log_target = not blocks[0][0].in_prices
    scales = concat_scales([b for _, b in blocks])
    s_t, s_p = scales if scales is not None else (None, None)
    base = None if log_target else last
    target = {k: score(np.concatenate(y[k]), yt, naive_t, base, scale=s_t) for k in names}
    price = {k: score(np.concatenate(p[k]), pt, naive_p, last, price_units=True, scale=s_p) for k in names}
    return Scores(target, price, [])


def check_members(config: TrainConfig, series: list[Series]) -> dict[str, Frame]:
    tickers = [s.ticker for s in series]
    if len(set(tickers)) != len(tickers):
        raise DataError(f"each ticker once, please: {', '.join(tickers)}")
    frames = {s.ticker: frame_for(config, s.bars, s.exog, s.ticker) for s in series}
    for t, f in frames.items():
        split_for(config, f, t)
    return frames
