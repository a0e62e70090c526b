"""A trained run as plain data: its ID, its manifest (everything needed to rebuild, audit
and reuse it, as JSON) and its weights as numpy arrays. What a worker sends back and the
registry writes."""

from __future__ import annotations

import dataclasses
import re
import secrets
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import numpy as np

from lstmcast import __version__
from lstmcast.config import TrainConfig
from lstmcast.evaluation.scoring import metrics_json
from lstmcast.inference.predictor import n_inputs
from lstmcast.jsonable import to_jsonable
from lstmcast.registry.checkpoint import DataSeen, Manifest

if TYPE_CHECKING:
    from lstmcast.evaluation.scoring import Scores
    from lstmcast.prep.dataset import Frame
    from lstmcast.training.loop import FitOutcome
    from lstmcast.training.scores import Trained
    from lstmcast.training.volatility import VolTrained

MANIFEST_FORMAT = 2  # 2: the error pools in their own file (registry/checkpoint.py)


def new_model_id(ticker: str, model: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    # `^GSPC` gives gspc, `BRK.B` brk_b: an ID starts with a letter or digit, so it can be typed.
    safe = re.sub(r"[^a-z0-9]+", "_", ticker.lower()).strip("_") or "x"
    return f"{safe}-{model}-{stamp}-{secrets.token_hex(2)}"


def manifest_of(
    members: list[Trained], pooled: Scores, model_id: str, origin: str, parent: str | None = None
) -> Manifest:
    """Everything needed to rebuild, audit and reuse the run, as plain JSON. `members` holds
    one Trained per ticker (one for a single-ticker model); `pooled` their joint scores."""
    first = members[0]
    out = first.fitted.outcome
    assert out is not None, "a run is saved from its fit, which records its outcome"

    def data_of(t: Trained) -> DataSeen:
        return data_seen(t.frame, origin)

    manifest = {
        "format": MANIFEST_FORMAT,
        "id": model_id,
        "created_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "tickers": [t.ticker for t in members],
        "parent": parent,
        "config": first.config.to_dict(),
        "columns": list(first.frame.columns),
        "scaler": first.fitted.scaler.to_dict(),
        "scalers": {t.ticker: t.fitted.scaler.to_dict() for t in members},
        "segments": first.segment_dates(),
        "segments_by_ticker": {t.ticker: t.segment_dates() for t in members},
        "rows": {
            "train_end": first.segments.train_end,
            "val_end": first.segments.val_end,
            "n": first.frame.n,
        },
        "data": data_of(first),
        "data_by_ticker": {t.ticker: data_of(t) for t in members},
        "metrics": metrics_json(pooled),
        "metrics_by_ticker": {
            t.ticker: {**metrics_json(t.scores), "dm_pvalue": t.dm_pvalue} for t in members
        },
        # Per step, out of sample (validation and test), as far as the model was evaluated.
        "residuals_log": [
            np.concatenate(step).tolist() for step in zip(*(t.residuals for t in members), strict=True)
        ],
        "residuals_by_ticker": {t.ticker: [r.tolist() for r in t.residuals] for t in members},
        # The same errors over the EWMA volatility known at each origin: what `scaled` and
        # `aci` intervals are made of (multiplied back by the volatility at forecast time).
        "scaled_residuals_by_ticker": {t.ticker: [s.tolist() for s in t.scores_scaled] for t in members},
        # ... and over HAR's volatility at each origin: the pool of `--intervals vol`.
        "vol_scaled_residuals_by_ticker": {t.ticker: [s.tolist() for s in t.scores_vol] for t in members},
        # ... and that HAR itself (training rows), which the live interval multiplies back by.
        "vol_har_by_ticker": {t.ticker: t.har_scale.to_dict() if t.har_scale else None for t in members},
        "training": training_of(out),
        "seed": first.config.seed,
        "device": first.fitted.device,
        "versions": versions(),
        "warnings": [w for t in members for w in t.warnings],
    }
    return to_jsonable(manifest)


def volatility_manifest(
    trained: VolTrained, model_id: str, origin: str, parent: str | None = None
) -> Manifest:
    """A volatility model as plain JSON: what forecasting needs beside the weights (the head,
    the VaR quantiles, the interval pool of log errors) and its test scores against HAR."""
    frame, net = trained.frame, trained.net
    out = net.outcome
    scores = trained.scored
    data = data_seen(frame, origin)
    manifest = {
        "format": MANIFEST_FORMAT,
        "id": model_id,
        "created_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "tickers": [trained.ticker],
        "parent": parent,
        "config": trained.config.to_dict(),
        "columns": list(frame.columns),
        "scaler": net.scaler.to_dict(),
        "scalers": {trained.ticker: net.scaler.to_dict()},
        "segments": trained.segment_dates(),
        "segments_by_ticker": {trained.ticker: trained.segment_dates()},
        "rows": {"train_end": trained.segments.train_end, "val_end": trained.segments.val_end, "n": frame.n},
        "data": data,
        "data_by_ticker": {trained.ticker: data},
        # `models` lists QLIKE skill against naive as the skill; the contest is in "volatility".
        "metrics": {
            "test": {
                "model": {
                    "skill_vs_naive": scores.scores["model"].skill_vs_naive,
                    "skill_vs_har": scores.scores["model"].skill_vs_har,  # its own benchmark
                }
            }
        },
        "volatility": {
            **trained.scores_json(),
            "head": net.head.to_dict(),
            "ratio": trained.fits.ratio,
            "var_quantiles": {f"{lv * 100:g}": q for lv, q in trained.quantiles.items()},
            # The quantiles are of returns over the model's own 1-day forecast (older models:
            # over EWMA, applied to the h-day average on the close-to-close scale).
            "var_basis": "one_day",
            "log_errors": trained.log_errors.tolist(),
        },
        "training": training_of(out),
        "seed": trained.config.seed,
        "device": net.device,
        "versions": versions(),
        "warnings": trained.warnings,
    }
    return to_jsonable(manifest)


def new_volatility_model(
    trained: VolTrained, origin: str, parent: str | None = None
) -> tuple[str, Manifest, dict[str, np.ndarray]]:
    """A trained volatility model as plain data (id, manifest, numpy weights): what a worker
    sends back for the driver to write."""
    model_id = new_model_id(trained.ticker, trained.config.model)
    manifest = volatility_manifest(trained, model_id, origin, parent)
    return model_id, manifest, {k: v.detach().cpu().numpy() for k, v in trained.net.state.items()}


def training_of(out: FitOutcome) -> dict[str, object]:
    """How a fit went: its epochs, the best one, why it stopped, its time and history."""
    return {
        "epochs_run": len(out.history),
        "best_epoch": out.best_epoch,
        "stopped": out.stopped,
        "seconds": out.seconds,
        "history": [dataclasses.asdict(h) for h in out.history],
    }


def data_seen(frame: Frame, origin: str) -> DataSeen:
    """The data a model saw: its fingerprint, where it came from, its first and last bars."""
    return {
        "fingerprint": frame.fingerprint(),
        "origin": origin,
        "first_date": str(frame.dates[0].date()),
        "last_date": str(frame.dates[-1].date()),
        "last_price": float(frame.price[-1]),
    }


def versions() -> dict[str, str]:
    """What made a model, for its manifest (written at training; a forecast never asks)."""
    from importlib.metadata import version

    import torch

    return {"lstmcast": __version__, "torch": torch.__version__, "pandas": version("pandas")}


def new_model(
    members: list[Trained], pooled: Scores, origin: str, parent: str | None = None
) -> tuple[str, Manifest, dict[str, np.ndarray]]:
    """A trained run as plain data, ready to be written by whoever holds the store: its id,
    its manifest, and its weights as numpy arrays (what a worker process sends back)."""
    name = members[0].ticker if len(members) == 1 else f"global{len(members)}"
    model_id = new_model_id(name, members[0].config.model)
    manifest = manifest_of(members, pooled, model_id, origin, parent)
    state = {k: v.detach().cpu().numpy() for k, v in members[0].fitted.state.items()}
    return model_id, manifest, state


def onnx_of(config: TrainConfig, n_features: int, state: dict[str, np.ndarray]) -> bytes | None:
    """The network as ONNX, or None for a stateful model: its forecast carries the recurrent
    state along the whole series, which stays with torch."""
    if config.stateful:
        return None
    import torch

    from lstmcast.models import build_model
    from lstmcast.models.onnx import export_onnx

    width = n_inputs(config, n_features)
    module = build_model(config, width)
    module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
    return export_onnx(module, config.window, width)
