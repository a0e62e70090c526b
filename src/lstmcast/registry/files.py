"""Where a saved model's files live, and housekeeping: its folder (finishing a rename a
killed run left half done), every record with its status, the orphaned folders a run killed
before its commit left, and removal that never reaches outside `HOME/models`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from lstmcast.errors import ConfigError, NotFoundError
from lstmcast.paths import models_dir
from lstmcast.registry.checkpoint import MANIFEST, check_checkpoint
from lstmcast.store.db import MIN_PREFIX, Store
from lstmcast.store.runs import RunRecord, delete_run, get_run, list_runs, resolve_id

STAGING = ".staging"  # a model being written: `.ID.staging` beside where it will be


def runs(store: Store, ticker: str | None = None) -> list[RunRecord]:
    """Every recorded model, each with `status`: "ok", or "damaged: why" when it cannot load."""
    found = list_runs(store.conn, ticker)
    for r in found:
        why = r.get("damaged") or check_checkpoint(model_dir(store, r))
        r["status"] = "ok" if why is None else f"damaged: {why}"
    return found


def orphans(store: Store) -> list[Path]:
    """Model dirs that no record points to: what a run killed before its commit left behind."""
    root = models_dir(store.home)
    if not root.is_dir():
        return []
    known = {model_dir(store, r) for r in list_runs(store.conn)}  # finishes any interrupted rename
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and p.resolve() not in known)


def model_dir(store: Store, run: RunRecord) -> Path:
    """A model's folder: its stored path, relative to the home, resolved. Rows written before
    paths were relative are converted by migration 8.

    A run killed between its record's commit and the rename (write_model) left the record and
    a complete staging folder: the rename is finished here, on the next use of the model."""
    path = (store.home / run["path"]).resolve()
    staging = path.with_name(f".{path.name}{STAGING}")
    if not path.exists() and staging.is_dir() and check_checkpoint(staging) is None:
        os.replace(staging, path)
    return path


def remove_model(store: Store, model_id: str, record_only: bool = False) -> Path | None:
    """Delete a model's record and its folder. A prefix must have MIN_PREFIX characters. The
    folder goes only when it is a model folder (it holds a manifest) inside HOME/models that no
    other record uses; a link is removed itself, never followed. With `record_only`, or for a
    record that points outside HOME/models, only the row goes. Returns the folder removed."""
    store.require_writable()
    model_id = resolve_id(store.conn, model_id, MIN_PREFIX)
    run = get_run(store.conn, model_id)
    if run is None:
        raise NotFoundError(f"no model {model_id!r}")
    link = store.home / run["path"]  # as recorded: a link stays a link here
    path, root = model_dir(store, run), models_dir(store.home).resolve()
    if root not in path.parents and not record_only:
        raise ConfigError(
            f"model {model_id}'s record points to {path}, outside {root}: nothing was deleted;"
            f" `lstmcast models rm {model_id} --record-only` deletes the record and no file"
        )
    shared = any(model_dir(store, r) == path for r in list_runs(store.conn) if r["id"] != model_id)
    delete_run(store.conn, model_id)
    if record_only:
        return None
    if link.is_symlink():
        link.unlink()  # the link itself: what it points to is not this model's to delete
        return link
    if shared:  # another record's folder too: it stays for that model
        return None
    if (path / MANIFEST).is_file():
        _rmtree(path)
        return path
    return None


def remove_orphans(store: Store) -> list[Path]:
    store.require_writable()
    gone = orphans(store)
    for path in gone:
        _rmtree(path)
    return gone


def _rmtree(path: Path) -> None:
    """Delete a folder, or say why it could not be: a folder left behind is never reported gone."""
    try:
        shutil.rmtree(path)
    except OSError as exc:
        raise ConfigError(f"could not delete {path}: {exc.strerror or exc}") from None
