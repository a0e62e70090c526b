"""Model files: weights as safetensors plus a JSON manifest. Loading never unpickles anything."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

WEIGHTS = "weights.safetensors"
MANIFEST = "manifest.json"


def save_checkpoint(directory: Path, state: dict[str, torch.Tensor], manifest: dict[str, Any]) -> None:
    """Write both files into a temporary sibling, then rename: a model dir is whole or absent."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.with_name(f".{directory.name}.{os.getpid()}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(tmp / WEIGHTS))
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, allow_nan=False))
    os.replace(tmp, directory)


def load_checkpoint(directory: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    manifest = json.loads((directory / MANIFEST).read_text())
    return load_file(str(directory / WEIGHTS)), manifest
