"""`backtest --universe`: one network across a universe, on panels whose truth is known."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, Cli
from lstmcast.config import TrainConfig
from lstmcast.evaluation.panel import ic_summary
from lstmcast.universe.panel import Panel, inputs, sample_index
from synth import reversal_panel, store_panel

VOL_U = ["backtest", "--universe", "u", "--target", "volatility"]
TINY = ["--model", "cnn", "--window", "5", "--channels", "8", "--epochs", "3", "--threads", "1"]


def _universe(home: Path, r: np.ndarray, cli: Cli, name: str = "syn") -> list[str]:
    tickers = store_panel(home, r)
    cli("universe", "create", name, *tickers)
    return tickers


def test_the_network_learns_a_planted_reversal_across_the_panel(cli: Cli, home: Path) -> None:
    r, _, rank_ic = reversal_panel(days=1000, tickers=20, phi=0.3, seed=1)
    _universe(home, r, cli)
    args = [
        "backtest",
        "--universe",
        "syn",
        "--target",
        "rank",
        *TINY,
        "--folds",
        "2",
        "--rule",
        "long_short",
    ]
    res = cli(*args, "--k", "3", "--cost-bps", "10", "--json")
    doc = json.loads(res.stdout)
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(doc, json.loads((ROOT / "docs" / "schemas" / "backtest-universe.json").read_text()))
    assert doc["universe"] == "syn" and doc["target"] == "rank" and doc["members"] == 20
    assert doc["baselines"]["reversal"]["rank_ic_mean"] == pytest.approx(rank_ic, abs=0.03)
    panel = doc["panel"]
    assert panel["rank_ic_mean"] >= rank_ic / 2 and panel["rank_ic_t"] > 3  # at least half, t > 3
    pf = doc["portfolio"]
    assert pf["k"] == 3 and pf["cost_bps"] == 10 and pf["gross_return_ann"] > 0
    cost = pf["gross_return_ann"] - pf["net_return_ann"]  # = mean daily turnover x exposure x cost
    assert cost == pytest.approx(pf["turnover"] * 2 * 10 / 1e4 * 252, rel=0.05)
    assert doc["survivorship"] == {
        **doc["survivorship"],
        "members": 20,
        "without_prices": 0,
        "ending_early": 0,
    }
    assert "the network ranks the members" in doc["verdict"]
    # It beats the score it nests (zero), and the run counts the portfolios it compared.
    assert panel["clark_west"]["pvalue"] < 0.01 and panel["clark_west"]["statistic"] > 0
    assert pf["deflated_sharpe"]["trials"] == 5 and set(panel["mcs"]) <= {"network", *doc["baselines"]}
    assert sum(y["days"] for y in pf["by_year"]) == pf["days"]
    out, fig = home.parent / "out", home.parent / "fig.png"
    human = cli(*args, "--out", out, "--plot", fig)
    assert "rank IC by date" in human.stdout and "verdict:" in human.stdout
    assert "survivorship: 20 members" in human.stdout and f"wrote {fig}" in human.stderr
    assert fig.stat().st_size > 10_000 and fig.read_bytes()[:4] == b"\x89PNG"
    scores = pd.read_csv(out / "scores.csv")
    assert set(scores.columns) == {"date", "ticker", "network", *doc["baselines"], "realised"}
    assert len(scores) == sum(f["n_test"] for f in doc["folds"])
    book = pd.read_csv(out / "portfolio.csv")
    assert (
        book["net"].sum() < book["gross"].sum()
        and json.loads((out / "metrics.json").read_text())["universe"] == "syn"
    )


def test_on_a_pure_noise_panel_the_verdict_is_no_skill(cli: Cli, home: Path) -> None:
    r = np.random.default_rng(2).normal(0, 0.01, size=(800, 15))
    _universe(home, r, cli, "noise")
    doc = json.loads(cli("backtest", "--universe", "noise", "--target", "excess", *TINY, "--json").stdout)
    assert doc["verdict"].startswith("no skill") and abs(doc["panel"]["rank_ic_t"]) < 2.5
    assert "survivorship bias" in doc["notes"][0]  # today's members: said in every run


def test_the_network_scores_tickers_it_never_saw() -> None:
    """No ticker embedding: fitted on 20 members, it ranks 10 others as well as the rule."""
    from lstmcast.training.panel import fit_panel, predict_panel
    from lstmcast.universe.panel import panel_target

    r, _, rank_ic = reversal_panel(days=700, tickers=30, phi=0.3, seed=4)
    close = 100 * np.exp(np.cumsum(r, axis=0))
    dates = pd.bdate_range("2010-01-01", periods=len(r))
    panel = Panel(dates, tuple(f"T{i}" for i in range(30)), close, np.ones(close.shape, dtype=bool))
    values, _ = inputs(panel, cutoff=499)
    forward = panel.forward(1)
    target = panel_target("rank", forward, panel.listed, slice(0, 499))
    valid = np.isfinite(values).all(axis=-1)
    seen, unseen = np.zeros(30, dtype=bool), np.zeros(30, dtype=bool)
    seen[:20], unseen[20:] = True, True
    tr = sample_index(valid & seen, target, 5, slice(0, 399))
    va = sample_index(valid & seen, target, 5, slice(400, 499))
    cfg = TrainConfig(model="cnn", window=5, channels=8, epochs=3, threads=1, target="rank")
    fit = fit_panel(values, target, tr, va, cfg)
    te = sample_index(valid & unseen, np.zeros(forward.shape), 5, slice(500, 699))
    score = np.full(forward.shape, np.nan)
    score[te] = predict_panel(fit, values, te)
    got: Any = ic_summary(score[500:699], forward[500:699], dates[500:699])
    assert got.rank_ic_mean == pytest.approx(rank_ic, abs=0.06) and got.rank_ic_t > 3


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["backtest", "IBM", "--target", "rank"], "--target rank judges a universe's members"),
        (["backtest", "--universe", "u"], "--universe judges its members with --target rank, excess or"),
        (["backtest", "--universe", "u", "--target", "price"], "not price"),
        (
            ["backtest", "--universe", "u", "--target", "volatility", "--vol-proxy", "parkinson"],
            "squared close",
        ),
        (
            ["backtest", "--universe", "u", "--target", "volatility", "--loss", "qlike"],
            "--loss does not apply",
        ),
        (["backtest", "--universe", "u", "--target", "volatility", "--exog", "X"], "--exog does not apply"),
        (["train", "--universe", "u", "--target", "volatility"], "universe u has 0 member(s) with prices"),
        (["train", "--universe", "u", "--target", "log_return"], "--universe judges its members with"),
        (["backtest", "IBM", "--universe", "u", "--target", "rank"], "not several"),
        (["backtest", "--universe", "u", "--target", "rank", "--stateful"], "--stateful does not apply"),
        (["backtest", "IBM", "--rule", "topk_dropout"], "--rule topk_dropout holds k of a universe's"),
        (["backtest", "IBM", "--k", "5"], "--k does not apply to --target log_return"),
        (["backtest", "IBM", "--quantile", "0.1"], "--quantile does not apply to --target log_return"),
        (["backtest", "--universe", "u", "--target", "rank", "--k", "2", "--quantile", "0.1"], "not both"),
        (["train", "--universe", "u", "--target", "rank"], "universe u has 0 member(s) with prices"),
        (["train", "IBM", "--target", "rank"], "--target rank judges a universe's members"),
        (["backtest", "--universe", "nosuch", "--target", "rank"], "no universe 'nosuch'"),
        (["backtest", "--universe", "u", "--target", "rank"], "universe u has 0 member(s) with prices"),
        (["backtest", "--universe", "u", "--target", "rank", "--plot", "x.gif"], "x.gif"),
    ],
)
def test_universe_options_that_do_not_fit_are_refused_in_one_line(
    cli: Cli, home: Path, args: list[str], words: str
) -> None:
    cli("universe", "create", "u", "AAA", "BBB")
    line = cli(*args, code=1).stderr.strip()
    assert words in line and len(line.splitlines()) == 1, line


def test_the_universe_audit_is_clean_and_catches_planted_leaks(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r, _, _ = reversal_panel(days=700, tickers=8, phi=0.3, seed=5)
    _universe(home, r, cli)
    args = ["audit", "--universe", "syn", "--target", "rank", *TINY[:-4], "--epochs", "1", "--folds", "1"]
    doc = json.loads(cli(*args, "--json").stdout)
    assert doc["clean"] and len(doc["folds"]) == 2 and doc["leaks"] == []
    assert {f["noised"] for f in doc["folds"]} == {"every member", "T00"}
    assert "clean: nothing after a cutoff" in cli(*args).stdout
    from lstmcast.universe import panel as P

    # A scaler fitted across the cutoff (every row): a leak across tickers.
    honest = P.member_scalers
    monkeypatch.setattr(P, "member_scalers", lambda values, cutoff: honest(values, len(values) - 1))
    leak = cli(*args, code=1)
    assert "the inputs, the weights and the scores changed when every member's bars" in leak.stderr
    monkeypatch.setattr(P, "member_scalers", honest)
    # A future bar of one member in everyone's inputs: tomorrow's return of the first ticker.
    real = P.Panel.returns

    def peeking(self: P.Panel) -> np.ndarray:
        out = real(self)
        out[:-1, 1:] += 1e-3 * np.nan_to_num(out[1:, :1])
        return out

    monkeypatch.setattr(P.Panel, "returns", peeking)
    caught = json.loads(cli(*args, "--json", code=1).stdout)
    one = [f for f in caught["folds"] if f["noised"] == "T00"]
    assert not caught["clean"] and one and not one[0]["inputs_identical"]


@pytest.mark.slow
def test_universe_folds_and_seeds_on_workers_give_the_serial_result(cli: Cli, home: Path) -> None:
    r, _, _ = reversal_panel(days=700, tickers=10, phi=0.3, seed=6)
    _universe(home, r, cli)
    args = [
        "backtest",
        "--universe",
        "syn",
        "--target",
        "rank",
        *TINY,
        "--folds",
        "2",
        "--seeds",
        "2",
        "--json",
    ]
    serial = json.loads(cli(*args, "--json").stdout)
    parallel = json.loads(cli(*args, "--workers", "2", "--json").stdout)
    assert parallel == serial and len(serial["folds"]) == 2 and serial["seeds"] == [0, 1]


@pytest.mark.slow
def test_a_pooled_variance_network_is_judged_against_per_member_and_pooled_hars(cli: Cli, home: Path) -> None:
    """A panel whose variances share a common factor: one network across the members is no
    worse than each member's own log-HAR, and the pooled DM says which is better."""
    from synth import garch_panel

    r, _ = garch_panel(days=1100, tickers=12, seed=3)
    _universe(home, r, cli, "vol")
    net = ["--model", "cnn", "--window", "30", "--channels", "8", "--epochs", "6", "--threads", "1"]
    args = ["backtest", "--universe", "vol", "--target", "volatility", "--horizon", "5", *net, "--folds", "2"]
    out = home.parent / "vol-out"
    doc = json.loads(cli(*args, "--out", out, "--json").stdout)
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs" / "schemas" / "backtest-universe-volatility.json").read_text())
    jsonschema.validate(doc, schema)
    assert doc["target"] == "volatility" and doc["members"] == 12 and doc["cells"] > 1000
    assert set(doc["qlike"]) == {"network", "har", "log_har", "pooled_log_har", "leverage_har"}
    q = doc["qlike"]
    assert q["network"] <= 1.1 * q["log_har"]  # no worse than each member's own log-HAR
    best = doc["best_baseline"]
    assert q[best] == min(q[k] for k in q if k != "network")
    dm = doc["pooled_dm"]
    assert dm["against"] == best and (dm["statistic"] < 0) == (q["network"] < q[best])  # its sign says which
    assert doc["skill_vs"][best] == pytest.approx(1 - q["network"] / q[best])
    assert len(doc["against_each"]) == 4 and 0 <= doc["survivors_holm"] <= 4
    assert doc["verdict"].endswith("after Holm's correction")
    frame = pd.read_csv(out / "forecasts.csv")
    assert {"network", "har", "realised"} <= set(frame.columns) and (frame["network"] > 0).all()
    fig = home.parent / "vol.png"
    human = cli(*args, "--plot", fig).stdout
    assert "pooled QLIKE" in human and "verdict:" in human
    assert fig.read_bytes()[:4] == b"\x89PNG" and fig.stat().st_size > 10_000
