"""Sweeps: serial and Dask give the same cells, finished cells survive anything, reruns resume."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, SAMPLE, Cli
from lstmcast.errors import DataError
from lstmcast.execution.engine import cores
from lstmcast.runconfig import BacktestConfig
from lstmcast.sweep.cells import Cell, ReturnCell, from_json
from lstmcast.sweep.leaderboard import ReturnRow, leaderboard
from processes import child_env, dask_cluster, free_port

FAST = [
    "--window",
    "15",
    "--epochs",
    "1",
    "--folds",
    "2",
    "--hidden",
    "8",
    "--channels",
    "4",
    "--threads",
    "1",
]


def _import(cli: Cli, *tickers: str) -> None:
    for t in tickers:
        cli("import", SAMPLE / f"{t}.csv", "--ticker", t)


def _cells(home: Path) -> list[tuple[str, str, int, str]]:
    with sqlite3.connect(home / "lstmcast.db") as conn:
        return conn.execute("SELECT ticker, model, seed, status FROM sweep_cells ORDER BY 1, 2, 3").fetchall()


@pytest.mark.slow
def test_a_sweep_cell_is_the_backtest_with_that_seed_and_a_rerun_resumes(cli: Cli, home: Path) -> None:
    _import(cli, "IBM", "MSFT")
    args = ["sweep", "IBM", "MSFT", "--models", "cnn,rnn", "--seeds", "2", "--workers", "1", *FAST, "--json"]
    first = json.loads(cli(*args).stdout)
    assert len(first["cells"]) == 8 and not any(c["resumed"] for c in first["cells"])
    cell = next(c for c in first["cells"] if (c["ticker"], c["model"], c["seed"]) == ("MSFT", "rnn", 1))
    single = json.loads(cli("backtest", "MSFT", "--model", "rnn", "--seed", "1", *FAST, "--json").stdout)
    assert cell["skill_vs_naive"] == single["pooled"]["model"]["skill_vs_naive"]  # digit for digit
    assert cell["dm_pvalue"] == single["dm_pvalue"] and cell["sharpe"] == single["strategy"]["sharpe"]
    again = json.loads(cli(*args).stdout)
    assert again["sweep_id"] == first["sweep_id"] and all(c["resumed"] for c in again["cells"])
    assert [c["skill_vs_naive"] for c in again["cells"]] == [c["skill_vs_naive"] for c in first["cells"]]
    board = first["leaderboard"]
    assert len(board) == 4 and all(r["cw_pvalue_adjusted"] >= r["cw_pvalue"] for r in board)
    assert all(r["forecast"] == "average of 2 seeds" and r["deflated_over"] == 4 for r in board)
    # Every number of a row is about the seeds' average forecast, which is what the backtest
    # of either seed can be combined into: check the skill against the two seeds' forecasts.
    other = json.loads(cli("backtest", "MSFT", "--model", "rnn", "--seed", "0", *FAST, "--json").stdout)
    row = next(r for r in board if (r["ticker"], r["model"]) == ("MSFT", "rnn"))
    assert row["skill_vs_naive"] != pytest.approx(
        (other["pooled"]["model"]["skill_vs_naive"] + single["pooled"]["model"]["skill_vs_naive"]) / 2,
        abs=1e-12,
    )  # not the mean of the seeds' skills
    listed = json.loads(cli("sweeps", "--json").stdout)
    assert [s["sweep_id"] for s in listed] == [first["sweep_id"]]
    shown = json.loads(cli("sweeps", "show", first["sweep_id"], "--json").stdout)
    assert shown["leaderboard"] == board
    human = cli(*args[:-1]).stdout
    assert "beat the random walk after Benjamini-Hochberg adjustment" in human and "from the store" in human
    # --adjust is stored with the sweep: showing a Holm sweep later re-adjusts with Holm.
    holm = json.loads(cli(*args, "--adjust", "holm").stdout)
    assert holm["adjust"] == "holm" and all(c["resumed"] for c in holm["cells"])
    again_shown = json.loads(cli("sweeps", "show", first["sweep_id"], "--json").stdout)
    assert again_shown["adjust"] == "holm"
    assert [r["cw_pvalue_adjusted"] for r in again_shown["leaderboard"]] == [
        r["cw_pvalue_adjusted"] for r in holm["leaderboard"]
    ]


@pytest.mark.slow
def test_a_local_cluster_sweep_equals_the_serial_one_with_one_thread_per_worker(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    _import(cli, "IBM")
    args = ["sweep", "IBM", "--models", "cnn,gru", "--seeds", "2", *FAST, "--json"]
    serial = json.loads(cli(*args, "--workers", "1").stdout)
    os.environ["LSTMCAST_HOME"] = str(tmp_path / "other")  # a fresh store: nothing to resume
    # Dask's default HTTP port taken (another cluster, another lstmcast): no clash, no warning.
    blocker = socket.socket()
    with contextlib.suppress(OSError):
        blocker.bind(("127.0.0.1", 8787))
        blocker.listen()
    try:
        _import(cli, "IBM")
        parallel = json.loads(cli(*args, "--workers", "2").stdout)
    finally:
        os.environ["LSTMCAST_HOME"] = str(home)
        blocker.close()
    assert parallel["workers"] == 2 and not any(c["resumed"] for c in parallel["cells"])
    assert all(c["threads"] == 1 for c in parallel["cells"])
    assert all(c["seconds"] > 0 for c in parallel["cells"])  # each cell's own compute time
    keys = ("ticker", "model", "seed", "skill_vs_naive", "dm_pvalue", "directional_accuracy", "sharpe")
    assert [{k: c[k] for k in keys} for c in parallel["cells"]] == [
        {k: c[k] for k in keys} for c in serial["cells"]
    ]


@pytest.mark.slow
def test_an_unreachable_cluster_is_one_line_and_exit_75_within_seconds(cli: Cli, home: Path) -> None:
    _import(cli, "IBM")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave: nothing listens there
    t0 = time.perf_counter()
    res = cli("sweep", "IBM", "--models", "cnn", "--cluster", f"tcp://127.0.0.1:{port}", *FAST, code=75)
    assert time.perf_counter() - t0 < 20
    assert "cannot reach the Dask scheduler" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def _wait_for_cells(home: Path, n: int, proc: subprocess.Popen[bytes], limit: float = 120) -> None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        if (home / "lstmcast.db").exists() and len(_cells(home)) >= n:
            return
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        time.sleep(0.2)
    raise AssertionError(f"no {n} cells within {limit}s")


@pytest.mark.slow
def test_killing_the_driver_keeps_the_finished_cells(cli: Cli, home: Path) -> None:
    _import(cli, "IBM")
    args = ["sweep", "IBM", "--models", "cnn,rnn,gru", "--seeds", "2", "--workers", "1", *FAST]
    proc = subprocess.Popen([sys.executable, "-m", "lstmcast", *args], cwd=ROOT, env=child_env(home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    _wait_for_cells(home, 2, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = _cells(home)
    assert 2 <= len(kept) < 6
    doc = json.loads(cli(*args, "--json").stdout)
    assert sum(c["resumed"] for c in doc["cells"]) == len(kept) and len(_cells(home)) == 6


@pytest.mark.slow
def test_a_real_dask_cluster_survives_a_killed_worker(cli: Cli, home: Path) -> None:
    _import(cli, "IBM", "MSFT")
    address = f"tcp://127.0.0.1:{free_port()}"
    with dask_cluster(home, address, 2) as workers:
        args = ["sweep", "IBM", "MSFT", "--models", "cnn,rnn", "--seeds", "2", "--cluster", address, *FAST]
        driver = subprocess.Popen(
            [sys.executable, "-m", "lstmcast", *args, "--json"], cwd=ROOT, env=child_env(home),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        _wait_for_cells(home, 1, driver, limit=180)
        workers[0].send_signal(signal.SIGKILL)  # mid-sweep: its task is retried on the other
        out, err = driver.communicate(timeout=300)
        assert driver.returncode == 0, err.decode()[-2000:]
        doc = json.loads(out)
        assert len(doc["cells"]) == 8 and all(c["status"] == "ok" for c in doc["cells"])
        assert len(_cells(home)) == 8  # no cell lost, none written twice (one row per cell key)
        again = json.loads(cli(*args, "--json").stdout)
        assert all(c["resumed"] for c in again["cells"])  # running it again computes nothing


@pytest.mark.slow
def test_backtest_folds_in_parallel_give_the_serial_result(cli: Cli, home: Path) -> None:
    _import(cli, "IBM")
    args = ["backtest", "IBM", "--model", "gru", "--seeds", "2", "--retrain-every", "150", *FAST, "--json"]
    serial = json.loads(cli(*args).stdout)
    parallel = json.loads(cli(*args, "--workers", "2").stdout)
    assert parallel["threads_per_worker"] == max(1, cores() // 2)
    for key in ("pooled", "folds", "dm_pvalue", "strategy", "across_seeds", "intervals"):
        assert parallel[key] == serial[key], key


@pytest.mark.slow
def test_daily_on_workers_trains_and_forecasts_like_the_serial_run(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    watch = (
        "horizon = 2\nfetch = false\nmodel = 'cnn'\n[[ticker]]\nsymbol = 'IBM'\n[[ticker]]\nsymbol = 'MSFT'\n"
    )

    def night(where: Path, *extra: str) -> list[tuple[object, ...]]:
        os.environ["LSTMCAST_HOME"] = str(where)
        _import(cli, "IBM", "MSFT")
        (where / "w.toml").write_text(watch)
        doc = json.loads(cli("daily", "--config", where / "w.toml", "--json", *extra).stdout)
        assert doc["exit_code"] == 0 and all("trained" in t["detail"] for t in doc["tickers"])
        with sqlite3.connect(where / "lstmcast.db") as conn:
            return conn.execute(
                "SELECT ticker, step, price, lower_80, upper_95 FROM ledger ORDER BY 1, 2"
            ).fetchall()

    try:
        serial = night(home)
        parallel = night(tmp_path / "other", "--workers", "2")
    finally:
        os.environ["LSTMCAST_HOME"] = str(home)
    assert len(serial) == 4 and parallel == serial  # trained on workers, written by the driver


def _cell(ticker: str, model: str, seed: int, preds: np.ndarray, r: np.ndarray) -> Cell:
    """A finished log-return cell as run_cell returns it, from forecasts of the returns r[1:]."""
    n = len(preds)
    truth = r[1 : n + 1, None]
    e = preds - truth
    result = ReturnCell(
        "log_return",
        1 - float(np.mean(e**2) / np.mean(truth**2)),
        None,
        None,
        0.0,
        {
            "model": preds,
            "naive": np.zeros((n, 1)),
            "drift": np.full((n, 1), r.mean()),
            "linear": np.zeros((n, 1)),
        },
        truth,
        np.ones(n),
        truth[:, 0],
    )
    return Cell(f"{ticker}-{model}-{seed}", ticker, model, seed, "ok", result)


def test_the_leaderboard_judges_the_seeds_average_and_deflates_active_returns() -> None:
    rng = np.random.default_rng(0)
    n = 1000
    r = rng.normal(0.0008, 0.01, n + 1)  # a random walk with drift: up more often than down
    # Always long: positive forecasts whatever happens (as the LSTM rows were on rw with drift).
    long = [rng.uniform(1e-4, 2e-4, (n, 1)) for _ in range(2)]
    # Another model whose seeds disagree: the average of their forecasts is not their mean skill.
    noisy = [rng.normal(0, 0.005, (n, 1)) for _ in range(2)]
    cells = [_cell("RW", "lstm", i, p, r) for i, p in enumerate(long)]
    cells += [_cell("RW", "cnn", i, p, r) for i, p in enumerate(noisy)]
    board, beat = leaderboard(cells, "bh", BacktestConfig(cost_bps=0.0))
    rows = {row.model: row for row in board if isinstance(row, ReturnRow)}
    lstm, cnn = rows["lstm"], rows["cnn"]
    # Always long: the strategy is buy-and-hold, its active returns are zero, nothing to deflate.
    assert lstm.sharpe == pytest.approx(lstm.buy_and_hold_sharpe)
    assert lstm.deflated_sharpe is None and lstm.deflated_over == 2
    # One forecast per row: the skill is that of the seeds' average forecast.
    truth = r[1 : n + 1, None]
    avg = (noisy[0] + noisy[1]) / 2
    assert cnn.skill_vs_naive == pytest.approx(1 - np.mean((avg - truth) ** 2) / np.mean(truth**2))
    mean_of_skills = np.mean([c.result.skill_vs_naive for c in cells[2:] if isinstance(c.result, ReturnCell)])
    assert cnn.skill_vs_naive > mean_of_skills + 0.05  # averaging cancels the seeds' noise
    assert beat == 0 and cnn.cw_pvalue is not None


def test_a_cell_stored_by_an_older_lstmcast_is_named_not_misread() -> None:
    with pytest.raises(DataError, match="older lstmcast"):
        from_json({"skill_vs_naive": 0.1}, "X", "lstm")
    with pytest.raises(DataError, match="without their forecasts"):
        from_json({"target": "volatility", "skill_vs_har": 0.1}, "X", "lstm")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_an_address_that_is_not_a_scheduler_is_one_line_not_a_hang(cli: Cli, home: Path) -> None:
    import threading

    _import(cli, "IBM")
    bad = cli("sweep", "IBM", "--models", "cnn", "--cluster", "notaurl", *FAST, code=1).stderr
    assert "is not a Dask scheduler address" in bad and len(bad.strip().splitlines()) == 1
    # A server that accepts connections and never answers (an HTTP server, a stray socket).
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        silent.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(silent.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    try:
        t0 = time.perf_counter()
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        res = cli("sweep", "IBM", "--models", "cnn", "--cluster", address, *FAST, code=75)
        assert time.perf_counter() - t0 < 15
        assert "no Dask handshake" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    finally:
        stop.set()
        for c in held:
            c.close()
        silent.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_tls_scheduler_is_used_with_its_security_file_and_refused_without(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    """Dask's payloads are pickles: across a network the cluster should speak TLS. A throwaway
    certificate on loopback: the sweep runs through a tls:// scheduler and its worker with
    `--cluster-security`, and without the file it is one line before any connection."""
    pytest.importorskip("cryptography")
    from distributed import Security

    sec = Security.temporary()  # type: ignore[no-untyped-call]  # one self-signed certificate: CA, scheduler, worker and client
    (tmp_path / "cert.pem").write_text(str(sec.tls_client_cert))
    (tmp_path / "key.pem").write_text(str(sec.tls_client_key))
    (tmp_path / "tls.toml").write_text('ca_file = "cert.pem"\ncert = "cert.pem"\nkey = "key.pem"\n')
    tls = ["--tls-ca-file", str(tmp_path / "cert.pem"), "--tls-cert", str(tmp_path / "cert.pem"),
           "--tls-key", str(tmp_path / "key.pem")]  # fmt: skip
    _import(cli, "IBM")
    port = free_port()
    address = f"tls://127.0.0.1:{port}"
    with dask_cluster(home, address, 1, *tls):
        without = cli("sweep", "IBM", "--models", "cnn", "--cluster", address, *FAST, code=1).stderr
        assert "give --cluster-security FILE" in without and len(without.strip().splitlines()) == 1
        args = ["sweep", "IBM", "--models", "cnn", "--cluster", address, *FAST, "--json"]
        for _ in range(40):  # the scheduler takes a few seconds to listen
            done = cli(*args, "--cluster-security", tmp_path / "tls.toml", code=None)
            if done.exit_code != 75:
                break
            time.sleep(1)
        assert done.exit_code == 0, done.stderr
        doc = json.loads(done.stdout)
        assert [c["status"] for c in doc["cells"]] == ["ok"] and doc["threads_per_worker"] is None
        plain = cli("sweep", "IBM", "--models", "cnn", "--cluster", f"tcp://127.0.0.1:{port}",
                    "--cluster-security", tmp_path / "tls.toml", *FAST, code=1).stderr  # fmt: skip
        assert "is for a tls:// scheduler address" in plain


def test_a_security_file_with_a_typo_or_a_missing_pem_is_one_line(tmp_path: Path) -> None:
    from lstmcast.errors import ConfigError
    from lstmcast.execution.engine import load_security

    bad = tmp_path / "tls.toml"
    for text, says in [('ca_file = "a.pem"\ncert = "a.pem"\nkeyfile = "k"\n', "unknown key 'keyfile'"),
                       ('cert = "a.pem"\n', "ca_file = "),
                       ('ca_file = "a.pem"\ncert = "a.pem"\n', "a.pem is not a file"),
                       ("ca_file = [\n", "tls.toml: ")]:  # fmt: skip
        bad.write_text(text)
        with pytest.raises(ConfigError, match=says):
            load_security(bad)


@pytest.mark.slow
def test_local_workers_share_the_cores_and_say_so(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """N local workers on C free cores get max(1, C // N) torch threads each: a machine faked
    to 8 free cores gives 2 workers 4 each, set on the workers, and reported. The free cores
    are the usable ones less those other work keeps busy."""
    from lstmcast import threadpolicy
    from lstmcast.execution import engine

    monkeypatch.setattr(threadpolicy, "usable_cores", lambda: {0, 1, 2, 3})
    monkeypatch.setattr(threadpolicy, "busy_cores", lambda cores: 1.0)
    threadpolicy.probed.cache_clear()
    assert threadpolicy.free_cores() == 3 and engine.Parallel(2).threads_per_worker() == 1
    monkeypatch.setattr(threadpolicy, "busy_cores", lambda cores: 0.0)
    threadpolicy.probed.cache_clear()
    assert engine.Parallel(2).threads_per_worker() == 2
    threadpolicy.probed.cache_clear()

    assert engine.Parallel(5).threads_per_worker(16) == 3 and engine.Parallel(16).threads_per_worker(16) == 1
    assert (
        engine.Parallel(3).threads_per_worker(2) == 1
        and engine.Parallel(1, "tcp://h:1").threads_per_worker(8) is None
    )
    _import(cli, "IBM")
    monkeypatch.setattr(engine, "free_cores", lambda: 8)
    doc = json.loads(cli("sweep", "IBM", "--models", "cnn,rnn", "--workers", "2", *FAST, "--json").stdout)
    assert doc["threads_per_worker"] == 4
    assert {c["threads"] for c in doc["cells"]} == {4}, doc["cells"]


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key),
         "-out", str(cert), "-subj", f"/CN={name}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_bad_certificates_and_transports_are_configuration_errors_naming_the_file(
    cli: Cli, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not "cannot reach" (exit 75, as if trying later could help): exit 1, one line, naming
    the file, the scheme, or the environment variable the value came from."""
    a_cert, a_key = _certificate(tmp_path, "a")
    _, b_key = _certificate(tmp_path, "b")
    (tmp_path / "garbage.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n")
    cases = {
        "garbage.toml": ('ca_file = "garbage.pem"\ncert = "a-cert.pem"\nkey = "a-key.pem"\n',
                         "ca_file " + str(tmp_path / "garbage.pem") + " is not a PEM certificate"),
        "mismatch.toml": ('ca_file = "a-cert.pem"\ncert = "a-cert.pem"\nkey = "b-key.pem"\n',
                          "are not a matching PEM certificate and key"),
    }  # fmt: skip
    base = ["sweep", "IBM", "--models", "cnn", "--cluster", "tls://127.0.0.1:8786"]
    for name, (text, says) in cases.items():
        (tmp_path / name).write_text(text)
        res = cli(*base, "--cluster-security", tmp_path / name, code=1)
        assert says in res.stderr and str(tmp_path / name) in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    assert a_cert.is_file() and a_key.is_file() and b_key.is_file()
    for scheme, says in (("ucx", "needs ucx-py"), ("inproc", "in-process only")):
        res = cli("sweep", "IBM", "--models", "cnn", "--cluster", f"{scheme}://127.0.0.1:8786", code=1)
        assert f"not {scheme}://" in res.stderr and says in res.stderr
    # A value from the environment is named as such, not as a flag the user never typed.
    monkeypatch.setenv("LSTMCAST_CLUSTER", "notaurl")
    res = cli("sweep", "IBM", "--models", "cnn", code=1)
    assert "LSTMCAST_CLUSTER (set in the environment) 'notaurl' is not a Dask scheduler address" in res.stderr
    monkeypatch.setenv("LSTMCAST_CLUSTER", "tls://127.0.0.1:8786")
    monkeypatch.setenv("LSTMCAST_CLUSTER_SECURITY", str(tmp_path / "mismatch.toml"))
    res = cli("sweep", "IBM", "--models", "cnn", code=1)
    assert res.stderr.startswith("error: LSTMCAST_CLUSTER_SECURITY (set in the environment) ")


def test_a_server_that_answers_garbage_is_not_a_scheduler_and_no_traceback(cli: Cli, home: Path) -> None:
    """A port that answers bytes no Dask scheduler would send (distributed once read them as
    a 3 EiB frame and raised MemoryError with a traceback): one line, exit 1."""
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    stop = threading.Event()

    def answer() -> None:
        server.settimeout(0.5)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with contextlib.suppress(OSError):
                conn.sendall(b"\xff" * 64)
                time.sleep(0.5)
            conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        _import(cli, "IBM")
        res = cli("sweep", "IBM", "--models", "cnn", "--epochs", "1", "--cluster", f"tcp://127.0.0.1:{port}",
                  code=None)  # fmt: skip
        assert res.exit_code == 1, (res.exit_code, res.stderr)
        assert "answered, but not as a Dask scheduler" in res.stderr and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    finally:
        stop.set()
        thread.join(2)
        server.close()
