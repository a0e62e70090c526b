"""Saved models: write a run to `home/models/<id>/` and the store, load it back, list, remove."""

from __future__ import annotations

import dataclasses
import json
import secrets
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from lstmcast import __version__
from lstmcast.config import TrainConfig
from lstmcast.errors import NotFoundError
from lstmcast.forecaster import Fitted
from lstmcast.paths import models_dir
from lstmcast.prep.scaling import Scaler
from lstmcast.store.db import connect
from lstmcast.store.runs import delete_run, get_run, insert_run, list_runs, newest_run
from lstmcast.training.checkpoint import load_checkpoint, save_checkpoint

MANIFEST_FORMAT = 1


def new_model_id(ticker: str, model: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() else "_" for c in ticker.lower())
    return f"{safe}-{model}-{stamp}-{secrets.token_hex(2)}"


def manifest_of(trained: Any, model_id: str, origin: str, parent: str | None = None) -> dict[str, Any]:
    """Everything needed to rebuild, audit and reuse the run, as plain JSON."""
    from lstmcast.train import metrics_json

    out = trained.fitted.outcome
    frame = trained.frame

    def finite(x: Any) -> Any:
        return json.loads(json.dumps(x, default=float).replace("NaN", "null"))

    return finite(
        {
            "format": MANIFEST_FORMAT,
            "id": model_id,
            "created_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
            "tickers": [trained.ticker],
            "parent": parent,
            "config": trained.config.to_dict(),
            "columns": list(frame.columns),
            "scaler": trained.fitted.scaler.to_dict(),
            "segments": trained.segment_dates(),
            "rows": {
                "train_end": trained.segments.train_end,
                "val_end": trained.segments.val_end,
                "n": frame.n,
            },
            "data": {
                "fingerprint": frame.fingerprint(),
                "origin": origin,
                "first_date": str(frame.dates[0].date()),
                "last_date": str(frame.dates[-1].date()),
                "last_price": float(frame.price[-1]),
            },
            "metrics": metrics_json(trained.scores),
            "residuals_log": trained.residuals.T.tolist(),  # per step: out-of-sample log errors
            "training": {
                "epochs_run": len(out.history),
                "best_epoch": out.best_epoch,
                "stopped": out.stopped,
                "seconds": out.seconds,
                "history": [dataclasses.asdict(h) for h in out.history],
            },
            "seed": trained.config.seed,
            "device": trained.fitted.device,
            "versions": {"lstmcast": __version__, "torch": torch.__version__, "pandas": pd.__version__},
            "warnings": trained.warnings,
        }
    )


def save_trained(home: Path, trained: Any, origin: str, parent: str | None = None) -> tuple[str, Path]:
    model_id = new_model_id(trained.ticker, trained.config.model)
    manifest = manifest_of(trained, model_id, origin, parent)
    path = models_dir(home) / model_id
    save_checkpoint(path, trained.fitted.state, manifest)
    seg = manifest["segments"]
    conn = connect(home)
    try:
        insert_run(
            conn,
            {
                "id": model_id,
                "created_at": manifest["created_at"],
                "tickers": ",".join(manifest["tickers"]),
                "model": trained.config.model,
                "target": trained.config.target,
                "train_start": seg["train"][0],
                "train_end": seg["train"][1],
                "test_start": seg["test"][0],
                "test_end": seg["test"][1],
                "skill": manifest["metrics"]["test"]["model"]["skill_vs_naive"],
                "config_json": json.dumps(manifest["config"]),
                "metrics_json": json.dumps(manifest["metrics"]),
                "path": str(path),
            },
        )
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)  # no model dir without its record
        raise
    finally:
        conn.close()
    return model_id, path


@dataclasses.dataclass
class LoadedModel:
    id: str
    manifest: dict[str, Any]
    fitted: Fitted

    @property
    def config(self) -> TrainConfig:
        return self.fitted.config


def load_model(home: Path, model_id: str) -> LoadedModel:
    conn = connect(home)
    try:
        run = get_run(conn, model_id)
    finally:
        conn.close()
    if run is None:
        raise NotFoundError(f"no model {model_id!r}; `lstmcast models` lists them")
    path = Path(run["path"])
    if not path.exists():
        raise NotFoundError(f"model {model_id}: its files are missing from {path}")
    state, manifest = load_checkpoint(path)
    config = TrainConfig.from_dict(manifest["config"])
    fitted = Fitted(config, tuple(manifest["columns"]), Scaler.from_dict(manifest["scaler"]), state, "cpu")
    return LoadedModel(model_id, manifest, fitted)


def newest_model_id(home: Path, ticker: str, model: str | None = None) -> str:
    conn = connect(home)
    try:
        run = newest_run(conn, ticker, model)
    finally:
        conn.close()
    if run is None:
        kind = f" {model}" if model else ""
        raise NotFoundError(f"no trained{kind} model for {ticker}; run `lstmcast train {ticker}` first")
    return str(run["id"])


def runs(home: Path, ticker: str | None = None) -> list[dict[str, Any]]:
    conn = connect(home)
    try:
        return list_runs(conn, ticker)
    finally:
        conn.close()


def remove_model(home: Path, model_id: str) -> None:
    conn = connect(home)
    try:
        run = get_run(conn, model_id)
        if run is None:
            raise NotFoundError(f"no model {model_id!r}")
        delete_run(conn, model_id)
    finally:
        conn.close()
    shutil.rmtree(run["path"], ignore_errors=True)
