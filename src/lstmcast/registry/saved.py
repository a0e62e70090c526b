"""Saved models: write a run to `<home>/models/<id>/` and the store, load it back, list, remove.

A model loads with one of two engines. `onnx` runs the exported network with ONNX Runtime and
never imports torch: what a cold `forecast` or a nightly `daily` uses. `torch` rebuilds the
module from its weights: what training, fine-tuning, stateful models and models saved
without an ONNX file use. Both forecast through inference/predictor.py, to float tolerance."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from safetensors import SafetensorError

from lstmcast.config import TrainConfig
from lstmcast.errors import ConfigError, DamagedError, NotFoundError
from lstmcast.evaluation.scoring import HarScale
from lstmcast.inference.predictor import OnnxFitted
from lstmcast.jsonable import json_at
from lstmcast.models.onnx import ONNX_FILE, OnnxNet, OnnxUnavailable
from lstmcast.paths import atomic_write_bytes, db_path, models_dir
from lstmcast.prep.scaling import Scaler
from lstmcast.registry.checkpoint import (
    MANIFEST,
    CheckpointDamaged,
    Manifest,
    Steps,
    checked_manifest,
    load_checkpoint,
    manifest_text,
    read_manifest,
    write_checkpoint,
)
from lstmcast.registry.files import STAGING, model_dir
from lstmcast.registry.manifest import new_model, new_volatility_model, onnx_of
from lstmcast.runconfig import RunConfig
from lstmcast.settings import ENGINES
from lstmcast.store.db import Store
from lstmcast.store.runs import get_run, insert_run, newest_run, resolve_id

if TYPE_CHECKING:
    import torch

    from lstmcast.evaluation.scoring import Scores
    from lstmcast.training.fitted import Fitted
    from lstmcast.training.scores import Trained
    from lstmcast.training.volatility import VolTrained


def save_volatility(
    store: Store, trained: VolTrained, origin: str, parent: str | None = None
) -> tuple[str, Path]:
    model_id, manifest, state = new_volatility_model(trained, origin, parent)
    return model_id, write_model(store, model_id, manifest, state)


def save_trained(
    store: Store, members: list[Trained], pooled: Scores, origin: str, parent: str | None = None
) -> tuple[str, Path]:
    model_id, manifest, state = new_model(members, pooled, origin, parent)
    return model_id, write_model(store, model_id, manifest, state)


def write_model(
    store: Store,
    model_id: str,
    manifest: Manifest,
    state: dict[str, np.ndarray],
    network: TrainConfig | None = None,
) -> Path:
    """Write a model's files and its record; only the driver process does this. `network` is
    the config its module is built from, when that is not the manifest's (a universe's
    network scores one horizon directly)."""
    path = models_dir(store.home) / model_id
    # Files first, into a staging dir; the record next; the rename last. A run killed at any
    # moment leaves either nothing loadable or a whole model: an unfinished staging dir is an
    # orphan (`models` lists it, `models rm --orphans` clears it), never a half model.
    staging = path.with_name(f".{model_id}{STAGING}")
    config = network or TrainConfig.from_dict(manifest["config"])
    try:
        onnx = onnx_of(config, len(manifest["columns"]), state)
    except Exception:  # no exporter here (onnx missing): the model forecasts with torch instead
        onnx = None
    conn = store.conn  # opened on first use: only a store opened before can have vanished since
    if not db_path(store.home).is_file():  # the home was removed while this model trained
        raise DamagedError(
            f"{store.home} was removed (or its store moved) while the model was made: it was not saved"
        )
    try:
        write_checkpoint(staging, state, manifest, onnx)
    except (OSError, SafetensorError) as exc:  # a full disk, mostly: no half-written folder left
        shutil.rmtree(staging, ignore_errors=True)
        full = (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space" in str(exc)
        why = "disk full" if full else f"cannot write ({str(exc).splitlines()[0]})"
        raise ConfigError(f"{why} at {staging.parent}: the model was not saved") from None
    seg = manifest["segments"]
    try:
        insert_run(
            conn,
            {
                "id": model_id,
                "created_at": manifest["created_at"],
                "tickers": ",".join(manifest["tickers"]),
                "model": manifest["config"]["model"],
                "target": manifest["config"]["target"],
                "train_start": seg["train"][0],
                "train_end": seg["train"][1],
                "test_start": seg["test"][0],
                "test_end": seg["test"][1],
                "skill": json_at(manifest.get("metrics"), "test", "model", "skill_vs_naive"),
                "config_json": json.dumps(manifest["config"]),
                "metrics_json": json.dumps(manifest["metrics"]),
                "path": str(path.relative_to(store.home)),  # relative: the home can move
                "universe": manifest.get("universe"),
            },
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # no model dir without its record
        raise
    os.replace(staging, path)
    return path


@dataclasses.dataclass
class LoadedModel:
    id: str
    manifest: Manifest
    fitted: Fitted | OnnxFitted
    ticker: str  # the member it was loaded for
    onnx: bytes | None = None  # the exported network, when loaded with the onnx engine

    @property
    def engine(self) -> str:
        return "onnx" if isinstance(self.fitted, OnnxFitted) else "torch"

    def residuals(self) -> Steps:
        """Out-of-sample log errors per step for this member (pooled when not recorded)."""
        by = self.manifest.get("residuals_by_ticker", {})
        return by.get(self.ticker) or self.manifest["residuals_log"]

    def scaled_residuals(self) -> Steps | None:
        """Per step, the out-of-sample errors over the volatility at their origin (None for a
        model saved before lstmcast kept them)."""
        by = self.manifest.get("scaled_residuals_by_ticker", {})
        return by.get(self.ticker)

    def vol_scaled_residuals(self) -> Steps | None:
        """Per step, the out-of-sample errors over HAR's volatility at their origin (None for a
        model saved before `--intervals vol`)."""
        return self.manifest.get("vol_scaled_residuals_by_ticker", {}).get(self.ticker) or None

    def vol_har(self) -> HarScale | None:
        """The HAR the errors of `vol_scaled_residuals` were divided by (None for a model saved
        before it was kept: the live HAR is then refitted on every bar)."""
        saved = self.manifest.get("vol_har_by_ticker", {}).get(self.ticker)
        return None if saved is None else HarScale.from_dict(saved)

    def seen_until(self) -> str:
        """The last date of any data it was fitted or early-stopped on (its validation end)."""
        by = self.manifest.get("segments_by_ticker") or {"": self.manifest["segments"]}
        return max(s["validation"][1] for s in by.values())

    def data_end(self) -> str:
        by = self.manifest.get("data_by_ticker", {})
        return str(by.get(self.ticker, self.manifest["data"])["last_date"])

    @property
    def config(self) -> TrainConfig:
        return self.fitted.config


def load_model(store: Store, model_id: str, ticker: str | None = None, engine: str = "torch") -> LoadedModel:
    """Load a model, seen as member `ticker` of a global one (default: the first).

    `engine` "torch" rebuilds the module from its weights (what fine-tuning needs); "auto"
    runs its ONNX file when it has one and onnxruntime is installed, else torch (what
    forecasting uses); "onnx" insists on ONNX."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; choose {', '.join(ENGINES)}")
    model_id = resolve_id(store.conn, model_id)  # a unique prefix will do
    run = get_run(store.conn, model_id)
    if run is None:
        raise NotFoundError(f"no model {model_id!r}; `lstmcast models` lists them")
    path = model_dir(store, run)
    if engine != "torch":
        # The weights stay the source of truth: a model whose weights are damaged is damaged,
        # even though its ONNX file could still run (reads only the headers: cheap).
        try:
            manifest = checked_manifest(path)  # read once, with every stored error
        except CheckpointDamaged as exc:
            raise damaged(model_id, path, str(exc)) from None
        onnx_file = path / ONNX_FILE
        if onnx_file.is_file():
            try:
                return loaded_from(model_id, manifest, None, ticker, onnx=onnx_file.read_bytes())
            except (OnnxUnavailable, OSError) as exc:
                if engine == "onnx":
                    raise damaged(model_id, path, str(exc)) from None
        elif engine == "onnx":
            raise NotFoundError(
                f"model {model_id} has no {ONNX_FILE}"
                + (
                    " (a stateful model forecasts with torch)"
                    if manifest["config"].get("stateful")
                    else f"; write one with `lstmcast models export {model_id}`"
                )
            )
    try:
        state, manifest = load_checkpoint(path)
    except CheckpointDamaged as exc:
        raise damaged(model_id, path, str(exc)) from None
    try:
        return loaded_from(model_id, manifest, state, ticker)
    except RuntimeError as exc:
        raise damaged(model_id, path, f"weights do not fit its config ({str(exc).splitlines()[0]})") from None


def loaded_from(
    model_id: str,
    manifest: Manifest,
    state: Mapping[str, np.ndarray] | Mapping[str, torch.Tensor] | None,
    ticker: str | None = None,
    onnx: bytes | None = None,
) -> LoadedModel:
    """A model from its manifest and either its ONNX network or its weights (tensors or
    numpy arrays), seen as member `ticker`: no store, no files, so a worker process can
    rebuild what the driver loaded. With `onnx`, torch is never imported."""
    if manifest.get("universe"):
        name = manifest["universe"]
        raise ConfigError(
            f"model {model_id} ranks the members of universe {name}: use it with"
            f" `lstmcast forecast --universe {name}`"
        )
    config = TrainConfig.from_dict(manifest["config"])
    tickers = manifest["tickers"]
    member = ticker or tickers[0]
    if member not in tickers:
        raise NotFoundError(f"model {model_id} was trained on {', '.join(tickers)}, not {member}")
    scaler = Scaler.from_dict(manifest.get("scalers", {}).get(member, manifest["scaler"]))
    # The embedding row is the member's place among the embedding's tickers, which for a
    # fine-tuned model are its parent's members, not the one ticker it was saved for.
    rows = config.embedding_tickers or tuple(tickers)
    columns, row = tuple(manifest["columns"]), rows.index(member) if member in rows else 0
    if onnx is not None:
        net = OnnxFitted(config=config, columns=columns, scaler=scaler, ticker_id=row, net=OnnxNet(onnx))
        return LoadedModel(model_id, manifest, net, member, onnx)
    if state is None:
        raise ValueError("loaded_from needs the weights or the ONNX network")
    import torch

    from lstmcast.training.fitted import Fitted

    weights = {k: torch.as_tensor(v) for k, v in state.items()}
    fitted = Fitted(config=config, columns=columns, scaler=scaler, ticker_id=row, state=weights)
    fitted.module()  # weights that do not fit the architecture raise here: damage, to the caller
    return LoadedModel(model_id, manifest, fitted, member)


def export_model(store: Store, model_id: str) -> Path:
    """Write the ONNX file of a model saved without one (before lstmcast exported them);
    its path. A stateful model has none: its forecast stays with torch."""
    loaded = load_model(store, model_id, engine="torch")
    path = model_dir(store, get_run(store.conn, loaded.id)) / ONNX_FILE  # type: ignore[arg-type]
    if path.is_file():
        return path
    state = {k: v.numpy() for k, v in loaded.fitted.state.items()}  # type: ignore[union-attr]
    try:
        data = onnx_of(loaded.config, len(loaded.fitted.columns), state)
    except Exception as exc:  # the exporter's own error types, or no onnx package
        raise ConfigError(f"model {model_id} could not be exported: {str(exc).splitlines()[0]}") from None
    if data is None:
        raise ConfigError(f"model {model_id} is stateful: it forecasts with torch and has no ONNX export")
    atomic_write_bytes(path, data)
    # Recorded like a file written with the model, so damage to it is named, not worked around.
    manifest = read_manifest(path.parent)
    manifest["checksums"] = {**manifest.get("checksums", {}), ONNX_FILE: hashlib.sha256(data).hexdigest()}
    atomic_write_bytes(path.parent / MANIFEST, manifest_text(manifest).encode())
    return path


def damaged(model_id: str, path: Path, why: str) -> DamagedError:
    return DamagedError(
        f"model {model_id} is damaged: {why} (in {path});"
        f" remove it with `lstmcast models rm {model_id}` and train again"
    )


def newest_model_id(
    store: Store,
    ticker: str,
    model: str | None = None,
    family: str | None = None,
    target: str | None = None,
) -> str:
    """The newest model of `ticker`, of any target, or of a target of `family`, or of exactly
    `target`."""
    run = newest_run(store.conn, ticker, model, family, target)
    if run is None:
        kind, flag = (f" {model}", f" --model {model}") if model else ("", "")
        if target:
            kind, flag = f"{kind} {target}", f"{flag} --target {target}"
        raise NotFoundError(f"no trained{kind} model for {ticker}; run `lstmcast train {ticker}{flag}` first")
    return str(run["id"])


def run_config_of(loaded: LoadedModel) -> RunConfig:
    """The run that trained a model, ready to repeat: its members (or CSV) and its settings.
    The embedding rows are left out: training fills them in again from the members."""
    origin = loaded.manifest.get("data", {}).get("origin", "store")
    return RunConfig(
        tickers=tuple(loaded.manifest["tickers"]),
        csv=None if origin == "store" else origin,
        train=loaded.config.replace(embedding_tickers=()),
    )
