"""Model files: weights as safetensors plus a JSON manifest (and the network as ONNX, see
models/onnx.py), and the out-of-sample errors its intervals are made of as safetensors too.
Loading never unpickles anything, and a damaged file is named as such instead of surfacing as
a library's internal error. Weights are numpy arrays here: reading a manifest or writing a
model needs no torch."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TypedDict, cast

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

from lstmcast.models.onnx import ONNX_FILE

WEIGHTS = "weights.safetensors"
MANIFEST = "manifest.json"
# The error pools of a manifest, each {ticker: [errors of step 1, of step 2, ...]}: most of a
# model's bytes. Written as float64 arrays to ERRORS (manifest format 2), where parsing them
# as JSON numbers had been a twentieth of a cold forecast; a loaded manifest holds them again,
# as arrays. A format 1 model keeps them in its JSON, with `residuals_log`, every member's
# residuals per step in turn, which `residuals_by_ticker` already holds and is not written.
ERRORS = "errors.safetensors"
POOLS = ("residuals_by_ticker", "scaled_residuals_by_ticker", "vol_scaled_residuals_by_ticker")
POOLED = "residuals_log"
REQUIRED = ("config", "columns", "scaler", "tickers", "data")  # what loading a model reads
# The manifest's own checksum, its last field: the SHA-256 of the file as written with this
# field's value all zeros. An edited scaler or config is then found like a flipped weight.
SEAL = "manifest_sha256"
_BLANK = "0" * 64


# Per step of a forecast, a pool of out-of-sample errors: JSON lists, or arrays once loaded.
Steps = list[list[float]] | list[np.ndarray]


class DataSeen(TypedDict, total=False):
    """The data a model saw (a universe network's has no fingerprint or last price)."""

    fingerprint: str
    origin: str  # "store", or the CSV file it was read from
    first_date: str
    last_date: str
    last_price: float


class VolatilitySaved(TypedDict, total=False):
    """What a volatility model's forecast needs beside its weights, with its test scores."""

    head: dict[str, object]  # inference.volatility.VolHead
    ratio: float
    var_quantiles: dict[str, float]  # "95" -> the quantile of returns over the 1-day forecast
    var_basis: str
    log_errors: list[float]  # the interval pool: log(realised / forecast)


class Manifest(TypedDict, total=False):
    """A model's manifest.json, as registry/manifest.py (and registry/universe.py) write it.
    Not every key is in every manifest: older formats lack newer ones, and a universe
    network keeps its scalers and readout its own way (dicts of JSON here)."""

    format: int
    id: str
    created_at: str
    tickers: list[str]
    parent: str | None
    universe: str
    config: dict[str, object]  # TrainConfig.to_dict()
    columns: list[str]
    scaler: dict[str, object]
    scalers: dict[str, dict[str, object]]
    segments: dict[str, list[str]]
    segments_by_ticker: dict[str, dict[str, list[str]]]
    rows: dict[str, int]
    data: DataSeen
    data_by_ticker: dict[str, DataSeen]
    metrics: dict[str, object]
    metrics_by_ticker: dict[str, dict[str, object]]
    residuals_log: Steps
    residuals_by_ticker: dict[str, Steps]
    scaled_residuals_by_ticker: dict[str, Steps]
    vol_scaled_residuals_by_ticker: dict[str, Steps]
    vol_har_by_ticker: dict[str, dict[str, object] | None]
    volatility: VolatilitySaved
    readout: dict[str, object]
    panel: dict[str, int]
    training: dict[str, object]
    seed: int
    device: str
    versions: dict[str, str]
    warnings: list[str]
    checksums: dict[str, str]
    manifest_sha256: str


class CheckpointDamaged(Exception):
    """One of a model's files is missing or unreadable; the message names it and why."""


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_checkpoint(
    directory: Path, state: dict[str, np.ndarray], manifest: Mapping[str, object], onnx: bytes | None = None
) -> None:
    """Write the files into a new `directory`, flushed to disk. The caller renames it into
    place once the model's record is committed, so a model dir is whole or absent."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    directory.mkdir()
    save_file({k: np.ascontiguousarray(v) for k, v in state.items()}, str(directory / WEIGHTS))
    files = [directory / WEIGHTS]
    kept, errors = split_pools(manifest)
    if errors:
        save_file(errors, str(directory / ERRORS))
        files.append(directory / ERRORS)
    if onnx is not None:
        (directory / ONNX_FILE).write_bytes(onnx)
        files.append(directory / ONNX_FILE)
    # A checksum of every other file in the manifest: a flipped bit is found and named on load.
    sealed = {**kept, "checksums": {p.name: _sha256(p) for p in files}}
    (directory / MANIFEST).write_text(manifest_text(sealed))
    for path in (*files, directory / MANIFEST, directory):
        _fsync(path)


def as_manifest(doc: Mapping[str, object]) -> Manifest:
    """A JSON object as a manifest: its keys are the ones registry/manifest.py writes, and
    `read_manifest` checked those loading needs."""
    return cast(Manifest, dict(doc))


def split_pools(manifest: Mapping[str, object]) -> tuple[dict[str, object], dict[str, np.ndarray]]:
    """The manifest without its error pools, and the pools as arrays named `pool/step/ticker`
    (a ticker last: whatever it holds, the name splits)."""
    errors = {}
    for pool in POOLS:
        by = manifest.get(pool) or {}
        for ticker, steps in by.items() if isinstance(by, dict) else ():
            for step, values in enumerate(steps):
                errors[f"{pool}/{step}/{ticker}"] = np.asarray(values, dtype="float64")
    return {k: v for k, v in manifest.items() if k not in (*POOLS, POOLED)}, errors


def with_pools(directory: Path, manifest: Manifest) -> Manifest:
    """The manifest with the error pools of its ERRORS file, each step an array (a format 1
    manifest, which holds them, as it is). The file is checked against its checksum first."""
    if ERRORS not in manifest.get("checksums", {}):
        return manifest
    verify_file(directory, ERRORS, manifest)
    try:
        errors = load_file(str(directory / ERRORS))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointDamaged(f"{ERRORS} is unreadable ({str(exc).splitlines()[0]})") from None
    pools: dict[str, dict[str, dict[int, np.ndarray]]] = {}
    for name, values in errors.items():
        pool, step, ticker = name.split("/", 2)
        pools.setdefault(pool, {}).setdefault(ticker, {})[int(step)] = values
    return as_manifest(
        {
            **manifest,
            **{
                pool: {t: [steps[i] for i in range(len(steps))] for t, steps in by.items()}
                for pool, by in pools.items()
            },
        }
    )


def manifest_text(manifest: Mapping[str, object]) -> str:
    """The manifest as its file holds it: JSON ending in its own checksum (SEAL)."""
    body = {k: v for k, v in manifest.items() if k != SEAL}
    text = json.dumps({**body, SEAL: _BLANK}, indent=2, allow_nan=False)
    blank = f'"{SEAL}": "{_BLANK}"'
    head, tail = text.rsplit(blank, 1)
    return f'{head}"{SEAL}": "{hashlib.sha256(text.encode()).hexdigest()}"{tail}'


def _check_seal(raw: bytes, manifest: Manifest) -> None:
    """Raise CheckpointDamaged when the manifest's text is not what was written (a model saved
    before manifests were sealed has no seal: nothing to compare)."""
    seal = manifest.get(SEAL)
    if seal is None:
        return
    written = f'"{SEAL}": "{seal}"'.encode()
    head, found, tail = raw.rpartition(written)
    blanked = head + f'"{SEAL}": "{_BLANK}"'.encode() + tail
    if not (isinstance(seal, str) and found and hashlib.sha256(blanked).hexdigest() == seal):
        raise CheckpointDamaged(f"{MANIFEST} does not match its checksum: the file was changed or damaged")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify_file(directory: Path, name: str, manifest: Manifest) -> None:
    """Raise CheckpointDamaged when `name` no longer matches the checksum its model recorded
    (models written before checksums have none: nothing to compare)."""
    expected = manifest.get("checksums", {}).get(name)
    if expected is None:
        return
    try:
        got = _sha256(directory / name)
    except FileNotFoundError:
        raise CheckpointDamaged(f"{name} is missing") from None
    except OSError as exc:
        raise CheckpointDamaged(f"{name} is unreadable ({exc.strerror or exc})") from None
    if got != expected:
        raise CheckpointDamaged(f"{name} does not match its checksum: the file was changed or damaged")


def read_manifest(directory: Path) -> Manifest:
    """The manifest as its file holds it (without the pools of ERRORS: see `with_pools`)."""
    try:
        raw = (directory / MANIFEST).read_bytes()
        manifest = json.loads(raw)
    except FileNotFoundError:
        raise CheckpointDamaged(f"{MANIFEST} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointDamaged(f"{MANIFEST} is unreadable ({exc})") from None
    absent = [k for k in REQUIRED if not isinstance(manifest, dict) or k not in manifest]
    if absent:
        raise CheckpointDamaged(f"{MANIFEST} lacks {', '.join(absent)}")
    _check_seal(raw, manifest)
    return as_manifest(manifest)


def load_checkpoint(directory: Path) -> tuple[dict[str, np.ndarray], Manifest]:
    """A model's weights and its manifest with its error pools."""
    manifest = with_pools(directory, read_manifest(directory))
    verify_file(directory, WEIGHTS, manifest)
    try:
        return load_file(str(directory / WEIGHTS)), manifest
    except FileNotFoundError:
        raise CheckpointDamaged(f"{WEIGHTS} is missing") from None
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointDamaged(f"{WEIGHTS} is unreadable ({str(exc).splitlines()[0]})") from None


def checked_manifest(directory: Path) -> Manifest:
    """The manifest of a model dir that can be loaded, with its error pools: the manifest, the
    weights' header, and every file against its recorded checksum; CheckpointDamaged says
    what cannot."""
    if not directory.is_dir():
        raise CheckpointDamaged("its files are missing")
    manifest = read_manifest(directory)
    try:
        with safe_open(str(directory / WEIGHTS), framework="np") as f:
            list(f.keys())
    except FileNotFoundError:
        raise CheckpointDamaged(f"{WEIGHTS} is missing") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointDamaged(f"{WEIGHTS} is unreadable ({str(exc).splitlines()[0]})") from None
    for name in manifest.get("checksums", {}):
        if name != ERRORS:  # checked as it is read, below
            verify_file(directory, name, manifest)
    return with_pools(directory, manifest)


def check_checkpoint(directory: Path) -> str | None:
    """Why a model dir cannot be loaded (None if it can): `checked_manifest`'s reason."""
    try:
        checked_manifest(directory)
    except CheckpointDamaged as exc:
        return str(exc)
    return None
