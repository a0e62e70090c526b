"""Saved universe networks: a network trained across a universe's members (`train --universe`,
jobs/universe_train.py) as its manifest keeps it, and loaded back to score windows.

The manifest holds what a forecast needs to rebuild its inputs and read its scores: each
member's input scalers, the scalers' cutoff date, and the target's readout (for a variance,
each member's log-variance scale and calibration ratio).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.errors import ConfigError, NotFoundError
from lstmcast.jsonable import json_at, number, to_jsonable
from lstmcast.models.onnx import ONNX_FILE, OnnxNet, OnnxUnavailable
from lstmcast.registry.checkpoint import CheckpointDamaged, Manifest, as_manifest, load_checkpoint
from lstmcast.registry.files import model_dir
from lstmcast.registry.manifest import MANIFEST_FORMAT, training_of, versions
from lstmcast.registry.saved import damaged
from lstmcast.store.db import Store
from lstmcast.store.runs import get_run, newest_universe_run, resolve_id
from lstmcast.universe.folds import FoldInputs, network_config
from lstmcast.universe.panel import Panel, Scalers
from lstmcast.universe.targets import Readout, learner_of

if TYPE_CHECKING:
    from lstmcast.training.loop import FitOutcome


def universe_manifest(
    model_id: str,
    universe: str,
    config: TrainConfig,
    panel: Panel,
    fold: FoldInputs,
    readout: Readout,
    segments: dict[str, list[str]],
    metrics: Mapping[str, object],
    outcome: FitOutcome,
    device: str,
    warnings: list[str],
) -> Manifest:
    """A universe network as plain JSON: what a forecast needs to rebuild its inputs and read
    its scores, and the held-out `metrics` it was saved with."""
    day = [str(d.date()) for d in panel.dates]
    cutoff = fold.val_start - 1  # the last row each member's scaler saw
    return as_manifest(
        to_jsonable(
            {
                "format": MANIFEST_FORMAT,
                "id": model_id,
                "created_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
                "universe": universe,
                "tickers": list(panel.tickers),
                "parent": None,
                "config": config.to_dict(),
                "columns": list(fold.columns),
                # Each member's input scalers, fitted on the rows up to `cutoff`: a forecast
                # rebuilds its inputs with them (a member the network never saw gets its own).
                "scaler": {"per_member": True, "cutoff": day[cutoff]},
                "scalers": saved_scalers(fold.scalers, panel.tickers),
                # How the network's scores become forecasts (the target's readout, per member).
                "readout": readout.to_dict(panel.tickers),
                "panel": {"horizon": config.horizon},
                "segments": segments,
                "data": {"origin": "store", "first_date": day[0], "last_date": day[-1]},
                "metrics": metrics,
                "training": training_of(outcome),
                "seed": config.seed,
                "device": device,
                "versions": versions(),
                "warnings": warnings,
            }
        )
    )


def _f(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def saved_scalers(
    scalers: Scalers, tickers: tuple[str, ...]
) -> dict[str, dict[str, dict[str, float | None]]]:
    """Each member's input scalers as a manifest keeps them: ticker -> column -> mean, sd."""
    return {
        t: {col: {"mean": _f(m[i]), "sd": _f(v[i])} for col, (m, v) in scalers.items()}
        for i, t in enumerate(tickers)
    }


def scalers_for(manifest: Manifest, tickers: tuple[str, ...]) -> Scalers:
    """A saved network's input scalers for `tickers`, NaN for a member it never saw (an older
    manifest kept one scaler per member: its daily return's)."""
    saved = manifest.get("scalers", {})
    columns = {c for entry in saved.values() for c in entry if c not in ("mean", "sd")} or {"return"}
    out: Scalers = {}
    for col in sorted(columns):
        got = [saved.get(t, {}) for t in tickers]
        each = [g if "mean" in g else json_at(g, col) for g in got]
        out[col] = (_values(each, "mean"), _values(each, "sd"))
    return out


def _values(entries: list[object], key: str) -> np.ndarray:
    """(N,) each entry's `key` as a float, NaN where it has none."""
    return np.array([number(v) if (v := json_at(e, key)) is not None else np.nan for e in entries])


@dataclass
class UniverseModel:
    """A saved universe network, ready to score windows: with ONNX Runtime (no torch) where
    it has an ONNX file and onnxruntime is installed, else with torch."""

    id: str
    manifest: Manifest
    score: Callable[[np.ndarray], np.ndarray]  # (B, window, F) float32 -> (B,) scores
    engine: str

    @property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.manifest["config"])

    @property
    def universe(self) -> str:
        return str(self.manifest["universe"])

    def scalers(self, panel: Panel) -> Scalers:
        return scalers_for(self.manifest, panel.tickers)

    def readout(self, panel: Panel, at: int) -> Readout:
        """How this network's scores at row `at` become forecasts for `panel`'s members."""
        config, saved = self.config, self.manifest.get("readout", {})
        return learner_of(config.target).saved_readout(saved, panel, config.horizon, at)


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
