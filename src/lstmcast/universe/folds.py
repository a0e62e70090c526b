"""Where a universe is cut in time: the walk-forward's blocks, and one block's inputs.

Cutoffs are dates, common to every member. A sample's outcome spans (t, t+h], so a fit's
training samples end h rows before its validation dates, and those h rows before the block
it scores; each member's scaler is fitted on the rows before the validation dates. The
backtest, its audit and `train --universe` (one block: the held-out test dates) all cut here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.errors import DataError
from lstmcast.runconfig import BacktestConfig
from lstmcast.universe.panel import MIN_NAMES, Panel, Scalers, sample_index
from lstmcast.universe.targets import VarianceScale, learner_of

Samples = tuple[np.ndarray, np.ndarray]  # (date index, member index), one entry per sample


@dataclass(frozen=True)
class BlockPlan:
    """Where a universe walk-forward tests: the dates it can rank, and its blocks."""

    ranked: np.ndarray  # (T,) bool: MIN_NAMES or more members listed with a known outcome
    first: int  # the first rankable row
    test_rows: np.ndarray
    blocks: list[np.ndarray]  # consecutive test rows, one per fold


def plan_blocks(panel: Panel, forward: np.ndarray, config: BacktestConfig, name: str, what: str) -> BlockPlan:
    """The last --test-size of the dates whose `forward` outcome can be ranked, cut into
    --folds blocks: what the backtest and its audit both walk. Too few rankable dates for
    `what` is refused in one line."""
    ranked = np.isfinite(np.where(panel.listed, forward, np.nan)).sum(axis=1) >= MIN_NAMES
    usable = np.nonzero(ranked)[0]
    if len(usable) < 200:
        raise DataError(
            f"universe {name}: {len(usable)} dates with {MIN_NAMES} or more members listed;"
            f" {what} needs a few hundred"
        )
    test_rows = usable[-max(config.folds, int(len(usable) * config.test_size)) :]
    blocks = [b for b in np.array_split(test_rows, config.folds) if len(b)]
    return BlockPlan(ranked, int(usable[0]), test_rows, blocks)


@dataclass
class FoldInputs:
    """One block's inputs, targets and samples: what its fit and its audit read."""

    values: np.ndarray  # (T, N, F) inputs, each ticker's scaler fitted on rows < val_start
    target: np.ndarray  # (T, N) what the network learns (NaN where unknown)
    val_start: int
    train: Samples  # outcomes known before val_start
    val: Samples  # outcomes known before the block
    test: Samples  # the block's dates
    outcome: np.ndarray  # (T, N) what is realised (the learner's), NaN where unknown
    scale: VarianceScale | None = None  # the learner's scale of the target, fitted on training rows
    columns: tuple[str, ...] = ()  # the inputs' names
    scalers: Scalers = field(default_factory=dict)  # each member's input scalers


def fold_inputs(
    panel: Panel,
    train: TrainConfig,
    start: int,
    end: int,
    first: int,
    ranked: np.ndarray,
    name: str = "",
    index: int = 1,
) -> FoldInputs:
    """The inputs of the block of rows [start, end): everything before it that a fit may read.
    A sample's outcome spans (t, t+h], so training ends h rows before validation starts and
    validation h rows before the block: nothing after a cutoff reaches a scaler or a fit."""
    h = train.horizon
    history = np.arange(first, start)
    val_start = int(history[int(len(history) * (1 - train.val_frac))])
    learner = learner_of(train.target)
    values, columns, scalers = learner.inputs(panel, val_start - 1)
    valid = np.isfinite(values).all(axis=-1) & panel.member
    outcome = learner.outcome(panel, h)
    target, scale = learner.learn(panel, outcome, slice(0, max(val_start - h, 1)))
    tr = sample_index(valid, target, train.window, slice(0, val_start - h))
    va = sample_index(valid, target, train.window, slice(val_start, start - h))
    te = sample_index(valid, np.where(ranked[:, None], 0.0, np.nan), train.window, slice(start, end))
    if len(tr[0]) < 100 or len(va[0]) < 20:
        raise DataError(
            f"universe {name}: fold {index} has {len(tr[0])} training and {len(va[0])} validation"
            " samples; use fewer --folds, a smaller --test-size or a shorter --window"
        )
    return FoldInputs(values, target, val_start, tr, va, te, outcome, scale, columns, scalers)


def network_config(config: TrainConfig) -> TrainConfig:
    """The config a universe's network is built from: one score per member and date, direct,
    whatever the horizon its target looks over."""
    return config.replace(horizon=1, decoder="direct")
