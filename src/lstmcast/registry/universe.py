"""`train --universe`: one network across a universe's members, saved to be used every day.

The universe is cut once in time, as one block of its walk-forward: the last `--test` share of
its rankable dates is held out, the `--val` share before it stops the training, and each
member's scaler is fitted on the rows before the validation dates (`universe.folds`). The
held-out dates are scored as the backtest scores them (rank IC with its Newey-West t, beside
every cross-sectional baseline on the same cells), and the network is saved with what a
forecast needs to rebuild its inputs: the scalers' cutoff date and the members it saw.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.errors import ConfigError, NotFoundError
from lstmcast.evaluation.panel import ICSummary, ic_summary, ranking_strength
from lstmcast.evaluation.panel_baselines import baseline_scores
from lstmcast.jsonable import to_jsonable
from lstmcast.models.onnx import ONNX_FILE, OnnxNet, OnnxUnavailable
from lstmcast.registry.checkpoint import CheckpointDamaged, load_checkpoint
from lstmcast.registry.files import model_dir
from lstmcast.registry.manifest import MANIFEST_FORMAT, new_model_id, training_of, versions
from lstmcast.registry.saved import damaged, write_model
from lstmcast.runconfig import BacktestConfig
from lstmcast.store.db import Store
from lstmcast.store.runs import get_run, newest_universe_run, resolve_id
from lstmcast.target import target_of
from lstmcast.universe.folds import fold_inputs, network_config, plan_blocks
from lstmcast.universe.members import Survivorship, show_universe
from lstmcast.universe.panel import build_panel, check_fits, member_scalers, panel_size


@dataclass
class UniverseTrainReport:
    model_id: str
    universe: str
    target: str
    model: str
    horizon: int
    window: int
    members: int
    segments: dict[str, list[str]]  # train, validation, test: first and last dates
    n_train: int
    n_val: int
    n_test: int
    epochs_run: int
    best_epoch: int
    stopped: str
    train_seconds: float
    device: str
    test: ICSummary  # the network's, on the held-out dates
    baselines: dict[str, ICSummary]  # each baseline's, on the same cells
    best_baseline: str
    survivorship: Survivorship
    path: str
    warnings: list[str] = field(default_factory=list)

    def verdict(self) -> str:
        """The held-out finding in plain words, as strong as its test."""
        t, b = self.test.rank_ic_t, self.baselines[self.best_baseline]
        ic = "–" if self.test.rank_ic_mean is None else f"{self.test.rank_ic_mean:.4f}"
        tt = "–" if t is None else f"{t:.2f}"
        best = "–" if b.rank_ic_mean is None else f"{b.rank_ic_mean:.4f}"
        head = {
            "noise": f"no skill on the held-out dates: rank IC {ic}, t {tt}, cannot be told from noise",
            "backwards": f"the network ranks backwards on the held-out dates (rank IC {ic}, t {tt})",
            "ranks": f"the network ranks the held-out dates (rank IC {ic}, t {tt})",
        }[ranking_strength(t)]
        return f"{head}; the best baseline, {self.best_baseline}, has {best} (`backtest --universe` tests it)"

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = to_jsonable(
            {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("test", "baselines")}
        )
        doc["test"] = to_jsonable(self.test)
        doc["baselines"] = to_jsonable(self.baselines)
        doc["verdict"] = self.verdict()
        return doc


def train_universe(
    store: Store, name: str, config: TrainConfig, on_epoch: Callable[..., None] | None = None
) -> UniverseTrainReport:
    """Fit one network across universe `name` (its last `test_frac` of dates held out), score
    it there beside the baselines, and save it."""
    from lstmcast.training.loop import keep_best_on_interrupt
    from lstmcast.training.panel import fit_panel, predict_fold

    store.require_writable()
    if not target_of(config.target).panel:
        raise ConfigError(
            f"a saved universe network ranks its members (--target rank or excess); a pooled"
            f" --target {config.target} network is judged by `lstmcast backtest --universe {name}"
            f" --target {config.target}` and is not saved for forecasts yet"
        )
    universe = show_universe(store, name)
    panel = build_panel(store, universe)
    check_fits(panel_size(len(panel.dates), len(panel.tickers), 1, config.window))
    h = config.horizon
    forward = panel.forward(h)
    plan = plan_blocks(panel, forward, BacktestConfig(folds=1, test_size=config.test_frac), universe.name,
                       "training")  # fmt: skip
    start, end = int(plan.test_rows[0]), int(plan.test_rows[-1]) + 1
    fold = fold_inputs(panel, config, start, end, plan.first, plan.ranked, universe.name)
    with keep_best_on_interrupt():  # Ctrl-C saves the best epoch so far
        fit = fit_panel(fold.values, fold.target, fold.train, fold.val, config, on_epoch)
    score = np.full(forward.shape, np.nan)
    score[fold.test] = predict_fold(fit, fold)
    rows = slice(start, end)
    realised = np.where(panel.listed, forward, np.nan)[rows]
    dates = panel.dates[rows]
    scored = np.isfinite(score[rows])
    others = {
        k: np.where(scored, v[rows], np.nan)
        for k, v in baseline_scores(panel.returns(), forward, slice(0, start - h)).items()
    }
    test = ic_summary(score[rows], realised, dates, h)
    baselines = {k: ic_summary(v, realised, dates, h) for k, v in others.items()}
    best = max(baselines, key=lambda k: _or_inf(baselines[k].rank_ic_mean))
    day = [str(d.date()) for d in panel.dates]
    cutoff = fold.val_start - 1  # the last row each member's scaler saw
    mean, sd = member_scalers(panel.returns(), cutoff)
    segments = {
        "train": [day[plan.first], day[max(fold.val_start - h - 1, 0)]],
        "validation": [day[fold.val_start], day[start - h - 1]],
        "test": [day[start], day[end - 1]],
    }
    model_id = new_model_id(f"u-{universe.name}", config.model)
    warnings = [] if universe.survivorship.point_in_time else [universe.survivorship.warning or ""]
    out = fit.outcome
    manifest = to_jsonable(
        {
            "format": MANIFEST_FORMAT,
            "id": model_id,
            "created_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
            "universe": universe.name,
            "tickers": list(panel.tickers),
            "parent": None,
            "config": config.to_dict(),
            "columns": ["return"],
            # Each member's daily-return scaler, fitted on the rows up to `cutoff`: a forecast
            # rebuilds its inputs with them (a member the network never saw gets its own).
            "scaler": {"per_member": True, "cutoff": day[cutoff]},
            "scalers": {
                t: {"mean": _f(m), "sd": _f(v)} for t, m, v in zip(panel.tickers, mean, sd, strict=True)
            },
            "panel": {"horizon": h},
            "segments": segments,
            "data": {"origin": "store", "first_date": day[0], "last_date": day[-1]},
            "metrics": {
                "test": {
                    "model": {
                        "rank_ic": test.rank_ic_mean,
                        "rank_ic_mean": test.rank_ic_mean,
                        "rank_ic_t": test.rank_ic_t,
                    }
                },
                "panel": test,
                "baselines": baselines,
                "best_baseline": best,
            },
            "training": training_of(out),
            "seed": config.seed,
            "device": str(fit.device),
            "versions": versions(),
            "warnings": warnings,
        }
    )
    state = {k: v.detach().cpu().numpy() for k, v in out.state.items()}
    path = write_model(store, model_id, manifest, state, network_config(config))
    return UniverseTrainReport(
        model_id=model_id,
        universe=universe.name,
        target=config.target,
        model=config.model,
        horizon=h,
        window=config.window,
        members=len(panel.tickers),
        segments=segments,
        n_train=len(fold.train[0]),
        n_val=len(fold.val[0]),
        n_test=len(fold.test[0]),
        epochs_run=len(out.history),
        best_epoch=out.best_epoch,
        stopped=out.stopped,
        train_seconds=out.seconds,
        device=str(fit.device),
        test=test,
        baselines=baselines,
        best_baseline=best,
        survivorship=universe.survivorship,
        path=str(Path(path)),
        warnings=warnings,
    )


def _or_inf(x: float | None) -> float:
    return -math.inf if x is None else x


def _f(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass
class UniverseModel:
    """A saved universe network, ready to score windows: with ONNX Runtime (no torch) where
    it has an ONNX file and onnxruntime is installed, else with torch."""

    id: str
    manifest: dict[str, Any]
    score: Callable[[np.ndarray], np.ndarray]  # (B, window, F) float32 -> (B,) scores
    engine: str

    @property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.manifest["config"])

    @property
    def universe(self) -> str:
        return str(self.manifest["universe"])


def load_universe_model(
    store: Store, name: str, model_id: str | None = None, engine: str = "auto"
) -> UniverseModel:
    """The newest model trained across universe `name` (or `model_id`, which must be one)."""

    if model_id is not None:
        run = get_run(store.conn, resolve_id(store.conn, model_id))
        if run is not None and run.get("universe") != name:
            raise ConfigError(f"model {run['id']} was not trained on universe {name}")
    else:
        run = newest_universe_run(store.conn, name)
        if run is None:
            raise NotFoundError(
                f"no model trained on universe {name};"
                f" run `lstmcast train --universe {name} --target rank` first"
            )
    assert run is not None
    path = model_dir(store, run)
    try:
        state, manifest = load_checkpoint(path)
    except CheckpointDamaged as exc:
        raise damaged(run["id"], path, str(exc)) from None
    config = network_config(TrainConfig.from_dict(manifest["config"]))
    if engine != "torch" and (path / ONNX_FILE).is_file():
        try:
            net = OnnxNet((path / ONNX_FILE).read_bytes())
            return UniverseModel(run["id"], manifest, lambda x: net(x)[:, 0], "onnx")
        except (OnnxUnavailable, OSError):
            if engine == "onnx":
                raise
    import torch

    from lstmcast.models import build_model

    module = build_model(config, len(manifest["columns"]))
    try:
        module.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    except RuntimeError as exc:
        why = f"weights do not fit its config ({str(exc).splitlines()[0]})"
        raise damaged(run["id"], path, why) from None
    module.eval()

    def score(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = module(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
            return np.asarray(out[:, 0].numpy())

    return UniverseModel(run["id"], manifest, score, "torch")
