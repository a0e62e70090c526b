"""On a CUDA GPU (skipped without one): train, forecast with ONNX from a CUDA-trained model,
backtest, a clean audit, a caught leak, and a sweep whose workers share the GPU.

Every other test pins the device to the CPU (conftest), where repeats are bit for bit; these
run with LSTMCAST_DEVICE=cuda. `make test` runs them wherever a GPU is visible.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import SAMPLE, Cli, one_forecast

pytestmark = pytest.mark.gpu
SMALL = ["--window", "20", "--epochs", "2", "--hidden", "16", "--layers", "1"]


def _import(cli: Cli, *tickers: str) -> None:
    for t in tickers:
        cli("import", SAMPLE / f"{t}.csv", "--ticker", t)


def test_train_on_cuda_and_forecast_through_onnx_without_torch(cli: Cli, home: Path) -> None:
    _import(cli, "IBM")
    trained = json.loads(cli("train", "IBM", "--model", "lstm", *SMALL, "--json").stdout)
    manifest = json.loads((home / "models" / trained["model_id"] / "manifest.json").read_text())
    assert manifest["device"].startswith("cuda"), manifest["device"]
    onnx = one_forecast(cli("forecast", "IBM", "--engine", "onnx", "--json").stdout)
    torch_path = one_forecast(cli("forecast", "IBM", "--engine", "torch", "--json").stdout)
    a = [p["log_return"] for p in onnx["forecasts"]]
    b = [p["log_return"] for p in torch_path["forecasts"]]
    assert a == pytest.approx(b, abs=1e-5)  # the ONNX export runs on the CPU; float32 either way


def test_backtest_and_a_clean_audit_on_cuda(cli: Cli, home: Path) -> None:
    _import(cli, "IBM")
    doc = json.loads(cli("backtest", "IBM", "--model", "gru", *SMALL, "--folds", "2", "--json").stdout)
    assert len(doc["folds"]) == 2
    audit = cli("audit", "IBM", "--model", "cnn", *SMALL, "--folds", "2", "--json")
    report = json.loads(audit.stdout)
    assert audit.exit_code == 0 and report["clean"], report  # no false leak from CUDA's noise
    assert all(f["noise_floor"] is not None for f in report["folds"])


def test_a_planted_leak_is_still_caught_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    from leaks import scaler_leak
    from lstmcast.backtest.audit import audit
    from lstmcast.config import TrainConfig
    from lstmcast.data.series import Series
    from lstmcast.runconfig import BacktestConfig
    from synth import ar1

    leaky = scaler_leak(monkeypatch)
    bars, _ = ar1(1200, seed=6)
    cfg = TrainConfig(model="lstm", window=10, hidden=8, layers=1, epochs=1, device="cuda")
    report = audit(cfg, BacktestConfig(folds=2), Series("AR1", bars, "synthetic"), fit=leaky)
    assert not report.clean and not report.folds[0].identical["weights_identical"]


def test_a_sweep_shares_the_gpu_between_workers(cli: Cli, home: Path) -> None:
    _import(cli, "IBM", "MSFT")
    args = ["sweep", "IBM", "MSFT", "--models", "cnn,gru", "--device", "cuda", "--gpu-workers", "2", *SMALL]
    doc = json.loads(cli(*args, "--folds", "2", "--json").stdout)
    assert len(doc["cells"]) == 4 and all(c["status"] == "ok" for c in doc["cells"])
    assert doc["workers"] == 2


def test_a_universe_network_trains_and_walks_forward_on_cuda(cli: Cli, home: Path) -> None:
    """One network across a universe on the GPU: batches gathered from the panel's index on
    the device, the saved model ranked by ONNX Runtime on the CPU."""
    from synth import reversal_panel, store_panel

    r, _, rank_ic = reversal_panel(days=700, tickers=10, phi=0.3, seed=4)
    cli("universe", "create", "syn", *store_panel(home, r))
    net = ["--model", "gru", "--window", "5", "--hidden", "16", "--epochs", "3"]
    trained = json.loads(cli("train", "--universe", "syn", "--target", "rank", *net, "--json").stdout)
    assert trained["device"].startswith("cuda") and trained["test"]["rank_ic_mean"] > rank_ic / 2
    ranked = json.loads(cli("forecast", "--universe", "syn", "--json").stdout)
    assert len(ranked["ranking"]) == 10
    doc = json.loads(cli("backtest", "--universe", "syn", "--target", "rank", *net, "--folds", "2",
                         "--json").stdout)  # fmt: skip
    assert doc["panel"]["rank_ic_t"] > 3
