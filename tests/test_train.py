"""Training: leak-free, repeatable, safely saved, and honest on series with known optimum."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ROOT, SAMPLE, Cli
from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.errors import TrainingDiverged
from lstmcast.jobs.train import train
from lstmcast.registry.saved import load_model
from lstmcast.store.db import Store
from lstmcast.training.run import run_training
from synth import ar1, random_walk

TINY = TrainConfig(window=20, hidden=16, layers=1, channels=8, epochs=3, patience=3, threads=1)


def _same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_perturbing_everything_after_the_cutoff_leaves_the_model_identical() -> None:
    bars, _ = ar1(1200, seed=3)
    first = run_training(TINY, Series("SYN", bars, "synthetic"))
    cutoff = first.segments.val_end  # weights depend on rows < val_end, the scaler on < train_end
    noisy = bars.copy()
    rng = np.random.default_rng(99)
    tail = noisy.iloc[cutoff + 1 :]  # frame row r is bar r+1
    noisy.iloc[cutoff + 1 :] = tail.to_numpy() * np.exp(rng.normal(0, 0.2, size=tail.shape))
    second = run_training(TINY, Series("SYN", noisy, "synthetic"))
    np.testing.assert_array_equal(first.fitted.scaler.mean, second.fitted.scaler.mean)
    np.testing.assert_array_equal(first.fitted.scaler.std, second.fitted.scaler.std)
    assert _same_state(first.fitted.state, second.fitted.state)
    # ... while the test metrics, which do look at those rows, differ.
    assert first.scores.target["model"].mae != second.scores.target["model"].mae


def test_scaler_sees_training_rows_only() -> None:
    bars, _ = ar1(1200, seed=4)
    t = run_training(TINY.replace(epochs=1), Series("SYN", bars, "synthetic"))
    train_rows = t.frame.x[: t.segments.train_end]
    np.testing.assert_allclose(t.fitted.scaler.mean, train_rows.mean(axis=0))


def test_same_seed_same_model_other_seed_other_model() -> None:
    bars, _ = ar1(900, seed=5)
    s = Series("SYN", bars, "synthetic")
    a, b = run_training(TINY, s), run_training(TINY, s)
    c = run_training(TINY.replace(seed=1), s)
    assert _same_state(a.fitted.state, b.fitted.state)
    assert not _same_state(a.fitted.state, c.fitted.state)


def test_save_load_predict_identical(home: Path) -> None:
    bars, _ = ar1(900, seed=6)
    series = Series("SYN", bars, "synthetic")
    report = train(Store(home), TINY.replace(model="gru"), series)
    loaded = load_model(Store(home), report.model_id)
    manifest = loaded.manifest
    assert manifest["versions"]["torch"] == torch.__version__
    assert {"config", "scaler", "columns", "segments", "data", "metrics", "seed", "device"} <= manifest.keys()
    trained = run_training(TINY.replace(model="gru"), series)
    at = trained.segments.origins(20, 1)["test"]
    np.testing.assert_array_equal(
        loaded.fitted.predict(trained.frame, at), trained.fitted.predict(trained.frame, at)
    )
    weights = Path(report.path) / "weights.safetensors"
    assert weights.read_bytes()[:8] != b"\x80\x04\x95" and not list(Path(report.path).glob("*.pt"))


@pytest.mark.slow
@pytest.mark.parametrize("model", ["lstm", "gru", "rnn", "cnn"])
def test_ar1_each_model_gets_within_10pct_of_the_optimum_and_beats_naive(model: str) -> None:
    bars, eps = ar1(3000, phi=0.6, sigma=0.01, seed=11)
    cfg = TrainConfig(
        model=model,
        window=20,
        hidden=16,
        layers=1,
        channels=8,
        kernel_size=3,
        epochs=15,
        patience=4,
        lr=3e-3,
        threads=1,
        test_frac=0.15,
    )
    t = run_training(cfg, Series("AR1", bars, "synthetic"))
    at = t.segments.origins(cfg.window, 1)["test"]
    optimum = float(np.mean(eps[at + 1] ** 2))  # the error of phi * r_t, the best forecast
    model_mse = t.scores.target["model"].rmse ** 2
    assert model_mse <= 1.10 * optimum, model_mse / optimum
    assert t.scores.target["model"].skill_vs_naive > 0.2  # naive is 1/(1-phi^2) = 1.56x worse


@pytest.mark.parametrize("model", ["lstm", "gru", "rnn", "cnn"])
def test_random_walk_shows_no_meaningful_skill(model: str) -> None:
    bars = random_walk(2000, seed=21)
    t = run_training(TINY.replace(model=model, epochs=5), Series("RW", bars, "synthetic"))
    skill = t.scores.target["model"].skill_vs_naive
    # Both ways: no skill to find, and a model that learned to forecast noise would lose clearly.
    assert -0.03 < skill < 0.02, skill
    da = t.scores.target["model"].directional_pvalue
    assert da is None or da > 0.001


def test_price_target_that_copies_yesterday_is_flagged() -> None:
    bars = random_walk(1500, seed=8)
    t = run_training(TINY.replace(target="price", epochs=4), Series("RW", bars, "synthetic"))
    assert any("copies yesterday" in w for w in t.warnings)


def test_nan_loss_stops_with_advice() -> None:
    from lstmcast.training.loop import fit
    from lstmcast.training.runtime import seed_everything

    class Exploding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x[:, -1, :1] * self.w) * float("inf")

    x, y = torch.randn(64, 5, 1), torch.randn(64, 1)
    with pytest.raises(TrainingDiverged, match="--lr"):
        fit(Exploding(), (x, y), (x, y), TINY, seed_everything(0))


def test_ctrl_c_keeps_the_best_model_so_far_in_train_and_stops_anything_else() -> None:
    from lstmcast.training.loop import keep_best_on_interrupt
    from lstmcast.training.watch import EpochLog

    def interrupt(log: EpochLog) -> None:
        if log.epoch == 2:
            raise KeyboardInterrupt

    bars, _ = ar1(900, seed=7)
    cfg, series = TINY.replace(epochs=10, patience=10), Series("SYN", bars, "synthetic")
    with keep_best_on_interrupt():  # as `train` and `finetune` run
        t = run_training(cfg, series, on_epoch=interrupt)
    assert t.fitted.outcome is not None and t.fitted.outcome.stopped == "interrupted"
    assert len(t.fitted.outcome.history) == 2
    # Anywhere else (a backtest fold, a tune trial) the command stops: no half fit goes on.
    with pytest.raises(KeyboardInterrupt):
        run_training(cfg, series, on_epoch=interrupt)


@pytest.mark.slow
@pytest.mark.parametrize(
    "command", [["backtest", "IBM"], ["tune", "IBM", "--workers", "1", "--trials", "50"]]
)
def test_ctrl_c_stops_a_long_command_within_seconds_with_exit_130(home: Path, command: list[str]) -> None:
    """A real SIGINT to a real process: it stops within seconds, says so in one line, exits
    130, and stores no half-finished trial."""
    import signal
    import sqlite3
    import time

    from processes import child_env

    env = child_env(home)
    subprocess.run([sys.executable, "-m", "lstmcast", "import", str(SAMPLE / "IBM.csv"), "--ticker", "IBM"],
                   env=env, check=True, capture_output=True)  # fmt: skip
    long = ["--epochs", "500", "--patience", "500", "--threads", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "lstmcast", *command, *long], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(8)  # well into its first fit
    assert proc.poll() is None, "it ended before it could be interrupted"
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert time.perf_counter() - t0 < 10 and proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err, err
    if command[0] == "tune":
        with sqlite3.connect(home / "lstmcast.db") as conn:
            assert conn.execute("SELECT count(*) FROM tune_trials").fetchone()[0] == 0


@pytest.mark.slow
def test_train_cli_json_contract_and_models_commands(cli: Cli, home: Path) -> None:
    cli("import", SAMPLE / "IBM.csv", "--ticker", "IBM")
    out = cli("train", "IBM", "--model", "cnn", "--epochs", "2", "--window", "30", "--json")
    doc = json.loads(out.stdout)
    for key in (
        "model_id",
        "ticker",
        "model",
        "target",
        "window",
        "horizon",
        "epochs_run",
        "train_seconds",
        "test",
    ):
        assert key in doc
    for name in ("model", "naive", "drift", "linear"):
        for field in ("mae", "rmse", "mape", "mase", "directional_accuracy", "skill_vs_naive"):
            assert field in doc["test"][name] and field in doc["test_price"][name]
    assert doc["test"]["naive"]["skill_vs_naive"] == 0.0 and doc["test"]["naive"]["rel_mae"] == 1.0
    assert doc["test"]["naive"]["mase"] > 0  # Hyndman-Koehler: scaled by the in-sample naive MAE
    listing = json.loads(cli("models", "--json").stdout)
    assert [m["model_id"] for m in listing] == [doc["model_id"]]
    human = cli("models").stdout
    assert doc["model_id"][:20] in human
    shown = json.loads(cli("models", "show", doc["model_id"], "--json").stdout)
    assert shown["config"]["window"] == 30 and shown["scaler"]["mean"]
    table = cli("train", "--csv", SAMPLE / "GOOG.csv", "--model", "rnn", "--epochs", "1").stdout
    assert "naive" in table and "drift" in table and "linear" in table and "random walk" in table
    cli("models", "rm", doc["model_id"])
    assert len(json.loads(cli("models", "--json").stdout)) == 1
    assert not Path(doc["path"]).exists()


def test_train_cli_errors_are_one_line(cli: Cli, home: Path, tmp_path: Path) -> None:
    assert "not stored" in cli("train", "NOPE", code=1).stderr
    wrong = cli("train", "--csv", SAMPLE / "IBM.csv", "--model", "transformer", code=2).stderr  # usage
    assert "'transformer' is not one of 'lstm', 'gru', 'rnn', 'cnn'" in wrong
    short = tmp_path / "short.csv"
    short.write_text("Date,Close\n" + "".join(f"2020-01-{d:02d},{100 + d}\n" for d in range(1, 29)))
    err = cli("train", "--csv", short, code=1).stderr
    assert "bars are needed" in err and len(err.strip().splitlines()) == 1
    assert "give a stored TICKER (or several), or --csv PATH" in cli("train", code=1).stderr


@pytest.mark.slow
def test_training_never_imports_dynamo_and_matches_torch_adam_exactly() -> None:
    probe = (
        "import sys, torch\n"
        "from lstmcast.config import TrainConfig\n"
        "from lstmcast.training import runtime\n"
        "from lstmcast.training.fitted import fit_forecaster\n"
        "from lstmcast.prep.dataset import build_frame\n"
        "sys.path.insert(0, 'tests')\n"
        "from synth import ar1\n"
        "cfg = TrainConfig(model='gru', window=10, hidden=8, layers=1, epochs=2, threads=1)\n"
        "frame = build_frame(ar1(600)[0])\n"
        "ours = fit_forecaster(cfg, frame, 450, 520)\n"
        "assert 'torch._dynamo' not in sys.modules, 'the optimizer imported torch._dynamo'\n"
        "assert 'distributed' not in sys.modules, 'a single job imported Dask'\n"
        "runtime.adam = lambda params, lr: torch.optim.Adam(params, lr=lr)\n"
        "stock = fit_forecaster(cfg, frame, 450, 520)\n"
        "assert all(torch.equal(ours.state[k], stock.state[k]) for k in ours.state)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "ok", out.stderr


def test_the_thread_policy_leaves_busy_cores_to_other_work_and_threads_overrides_it() -> None:
    from lstmcast.threadpolicy import busy_cores, choose_threads, usable_cores

    assert choose_threads(0, cores=2, busy=0.05).threads == 2  # a quiet machine: every core
    assert choose_threads(0, cores=2, busy=1.0).threads == 1  # one busy process beside us
    assert choose_threads(0, cores=2, busy=5.8).threads == 1  # never fewer than one
    assert choose_threads(0, cores=16, busy=3.2).threads == 13
    chosen = choose_threads(3, cores=2, busy=2.0)
    assert (chosen.threads, chosen.why) == (3, "--threads 3")  # what the user says wins
    assert "could not be read" in choose_threads(0, cores=4, busy=None).why
    assert choose_threads(0, cores=4, busy=None).threads == 4
    # The real probe on this machine: a number of busy cores between none and all of them.
    cores = usable_cores()
    busy = busy_cores(cores, seconds=0.05)
    assert busy is None or 0.0 <= busy <= len(cores) + 1e-9


def test_the_thread_count_changes_no_result_beyond_floating_point_noise() -> None:
    bars, _ = ar1(900, seed=11)
    series = Series("SYN", bars, "synthetic")
    before = torch.get_num_threads()
    try:
        one = run_training(TINY.replace(threads=1, epochs=3, patience=10), series)
        two = run_training(TINY.replace(threads=2, epochs=3, patience=10), series)
    finally:
        torch.set_num_threads(before)
    a, b = one.scores.target["model"], two.scores.target["model"]
    assert a.mae == pytest.approx(b.mae, rel=1e-4) and a.rmse == pytest.approx(b.rmse, rel=1e-4)


def test_omp_num_threads_is_honoured_as_torch_honours_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from lstmcast import threadpolicy

    threadpolicy.auto_threads.cache_clear()
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    try:
        assert threadpolicy.auto_threads() == threadpolicy.ThreadChoice(3, "OMP_NUM_THREADS=3")
    finally:
        threadpolicy.auto_threads.cache_clear()


def test_openmp_sleeps_only_where_a_fixed_thread_count_oversubscribes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lstmcast import threadpolicy as tp

    assert tp.oversubscribed(2, 2, 2.0) and tp.oversubscribed(4, 4, 2.0)
    assert not tp.oversubscribed(2, 2, 0.0) and not tp.oversubscribed(1, 2, 2.0)
    assert not tp.oversubscribed(2, 2, None)  # a load that cannot be read: no guess
    monkeypatch.setattr(tp, "_torch_loaded", lambda: False)
    monkeypatch.setattr(tp, "usable_cores", lambda: {0, 1})
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(tp, "busy_cores", lambda cores: 0.1)  # quiet: spinning is faster there
    assert not tp.calm_openmp(2) and "OMP_WAIT_POLICY" not in os.environ
    monkeypatch.setattr(tp, "busy_cores", lambda cores: 2.0)  # both cores held by other work
    assert not tp.calm_openmp(0)  # the policy's own choice does not oversubscribe
    assert tp.calm_openmp(2) and os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # the user's word stands
    assert not tp.calm_openmp(2) and os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # a fixed count from the environment counts too
    assert tp.calm_openmp(0) and os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setattr(tp, "_torch_loaded", lambda: True)  # too late: torch read it already
    monkeypatch.delenv("OMP_WAIT_POLICY")
    assert not tp.calm_openmp(2)
