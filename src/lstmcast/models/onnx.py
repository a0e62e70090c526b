"""ONNX: every forecaster exported next to its weights, and run without torch.

A forecast that only runs a saved network should not pay for `import torch` (about 1.5 s and
220 MB here). The network is exported once, when the model is written, with a dynamic batch
axis; ONNX Runtime runs it on numpy arrays in a fraction of that. The batch contract is the
same as the torch module's: x (B, L, F) float32 -> y (B, out) float32.

torch is imported only to export; onnxruntime only to run.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from torch import nn

ONNX_FILE = "model.onnx"
OPSET = 17


class OnnxUnavailable(Exception):
    """The ONNX file cannot be run here (no onnxruntime, or the file is unreadable)."""


def export_onnx(module: nn.Module, window: int, n_inputs: int) -> bytes:
    """The network as ONNX bytes, batch size left free."""
    import torch

    example = torch.zeros(1, window, n_inputs)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter is marked legacy, and warns about batch sizes for
        # recurrent layers without given initial states; ours start from zeros, and the
        # tests run exported networks at batch sizes other than the example's.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (example,),
            buf,  # type: ignore[arg-type]  # typed as a path in torch's stubs; a file object works
            dynamo=False,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
            opset_version=OPSET,
        )
    return buf.getvalue()


class OnnxNet:
    """A callable network from ONNX bytes: (B, L, F) float32 -> (B, out) float32."""

    def __init__(self, model: bytes, threads: int = 1) -> None:
        # ONNX Runtime 1.29+ sends usage telemetry unless told not to, and warns on every import
        # where it cannot save its device ID ($HOME read-only). A forecast talks to no one.
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        try:
            import onnxruntime as ort
        except ImportError as exc:  # an install without it still forecasts, with torch
            raise OnnxUnavailable("onnxruntime is not installed") from exc
        opts = ort.SessionOptions()
        # One forecast is a handful of windows: thread pools cost more than they save.
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for a bad file
            raise OnnxUnavailable(f"{ONNX_FILE} is unreadable ({str(exc).splitlines()[0]})") from None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            width = self._session.get_outputs()[0].shape[1]
            return np.zeros((0, width if isinstance(width, int) else 1), dtype=np.float32)
        return self._session.run(["y"], {"x": np.ascontiguousarray(x, dtype=np.float32)})[0]
