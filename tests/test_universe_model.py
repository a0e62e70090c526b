"""`train`, `forecast` and `ledger` on a universe: a saved network ranks the members each day,
and the ledger judges each ranking once its bars arrive."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from conftest import ROOT, Cli
from lstmcast.store.db import Store
from synth import reversal_panel, store_panel

TINY = ["--model", "cnn", "--window", "5", "--channels", "8", "--epochs", "3", "--threads", "1"]


def _schema(name: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / "docs" / "schemas" / f"{name}.json").read_text()))


def _store(home: Path, r: np.ndarray, days: int) -> list[str]:
    """The first `days` bars of each column of `r` (all of them share one calendar)."""
    return store_panel(home, r, days)


@pytest.mark.slow
def test_a_saved_universe_network_ranks_each_day_and_the_ledger_judges_it(cli: Cli, home: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    r, _, rank_ic = reversal_panel(days=900, tickers=20, phi=0.3, seed=4)
    tickers = _store(home, r, 880)
    cli("universe", "create", "syn", *tickers)

    trained = json.loads(cli("train", "--universe", "syn", "--target", "rank", *TINY, "--json").stdout)
    jsonschema.validate(trained, _schema("train-universe"))
    assert trained["universe"] == "syn" and trained["members"] == 20 and trained["n_test"] > 0
    assert trained["segments"]["train"][1] < trained["segments"]["validation"][0]
    assert trained["segments"]["validation"][1] < trained["segments"]["test"][0]
    # The planted reversal: on the held-out dates the network finds it, as the 1-day rule does.
    assert trained["baselines"]["reversal"]["rank_ic_mean"] == pytest.approx(rank_ic, abs=0.05)
    assert trained["test"]["rank_ic_mean"] > rank_ic / 2 and trained["test"]["rank_ic_t"] > 3
    model_id = trained["model_id"]
    listed = json.loads(cli("models", "--json").stdout)
    assert [m["universe"] for m in listed if m["model_id"] == model_id] == ["syn"]
    assert "syn, 20 members seen in training" in cli("models", "show", model_id).stdout
    assert 'universe = "syn"' in cli("models", "show", model_id, "--config").stdout

    first = json.loads(cli("forecast", "--universe", "syn", "--k", "3", "--json").stdout)
    jsonschema.validate(first, _schema("forecast-universe"))
    assert first["model_id"] == model_id and first["ledger_new"] == 20 and len(first["ranking"]) == 20
    scores = [x["score"] for x in first["ranking"]]
    assert scores == sorted(scores, reverse=True)
    assert [x["rank"] for x in first["ranking"]] == list(range(1, 21))
    assert first["long"] == [x["ticker"] for x in first["ranking"][:3]]
    assert first["short"] == [x["ticker"] for x in first["ranking"][-3:]]
    again = json.loads(cli("forecast", "--universe", "syn", "--k", "3", "--json").stdout)
    assert again["ledger_new"] == 0 and again["ranking"] == first["ranking"]  # same bar: nothing new
    # The network scores a member from its window alone: yesterday's loser ranks high.
    yesterday = {t: r[878, i] for i, t in enumerate(tickers)}  # 880 bars hold returns 0..878
    rho = stats.spearmanr(scores, [yesterday[x["ticker"]] for x in first["ranking"]])[0]
    assert rho < -0.3

    # The next bars arrive; the evening's ranking is judged and a new one is made.
    _store(home, r, 885)
    human = cli("forecast", "--universe", "syn", "--k", "3").stdout
    assert "ranking, k 3" in human and "long" in human and "short" in human
    doc = json.loads(cli("ledger", "--universe", "syn", "--json").stdout)
    jsonschema.validate(doc, _schema("ledger"))
    (summary,) = doc["summary"]
    assert summary["ticker"] == "syn" and summary["target"] == "rank" and summary["scores"]["dates"] == 1
    judged = [row for row in doc["rows"] if row["as_of"] == first["as_of"]]
    assert len(judged) == 20 and all(row["realised"] is not None for row in judged)
    realised = {row["ticker"]: row["realised"] for row in judged}
    assert realised["T00"] == pytest.approx(r[879, 0], abs=1e-9)  # the next day's log return
    by = {x["ticker"]: x["score"] for x in first["ranking"]}
    expected_ic = stats.spearmanr([by[t] for t in tickers], [realised[t] for t in tickers])[0]
    assert summary["scores"]["rank_ic_mean"] == pytest.approx(expected_ic, abs=1e-9)
    spread = np.mean([realised[t] for t in first["long"]]) - np.mean([realised[t] for t in first["short"]])
    assert summary["scores"]["spread_mean"] == pytest.approx(spread, abs=1e-12)
    table = cli("ledger", "--universe", "syn").stdout
    assert "live rankings of syn" in table and "recent rankings" in table
    assert math.isfinite(summary["scores"]["spread_mean"])


def test_a_universe_model_is_never_one_tickers_and_options_that_do_not_apply_are_refused(
    cli: Cli, home: Path
) -> None:
    r, _, _ = reversal_panel(days=500, tickers=8, phi=0.3, seed=5)
    tickers = _store(home, r, 500)
    cli("universe", "create", "small", *tickers)
    no_model = cli("forecast", "--universe", "small", code=None)
    assert no_model.exit_code != 0 and "train --universe small" in no_model.stderr
    model_id = json.loads(cli("train", "--universe", "small", "--target", "excess", *TINY, "--json").stdout)[
        "model_id"
    ]
    alone = cli("forecast", "T00", code=None)  # the universe's model is not T00's
    assert alone.exit_code != 0 and "no trained model for T00" in alone.stderr
    wrong = cli("forecast", "T00", "--model-id", model_id, code=None)
    assert wrong.exit_code != 0 and "forecast --universe small" in wrong.stderr
    for args, says in [
        (["--universe", "small", "--horizon", "5"], "--horizon does not apply to --universe"),
        (["--universe", "small", "T00"], "TICKER does not apply to --universe"),
        (["T00", "--k", "3"], "--k picks a universe's members"),
        (["--universe", "nosuch"], "no universe 'nosuch'"),
    ]:
        res = cli("forecast", *args, code=None)
        assert res.exit_code != 0 and says in res.stderr, (args, res.stderr)
        assert "Traceback" not in res.stderr
    res = cli("ledger", "--universe", "nosuch", code=None)
    assert res.exit_code != 0 and "no universe 'nosuch'" in res.stderr
    made = json.loads(cli("forecast", "--universe", "small", "--json").stdout)
    assert made["target"] == "excess" and made["k"] == 1 and len(made["ranking"]) == 8


@pytest.mark.slow
def test_daily_ranks_a_universe_entry_trains_its_network_once_and_says_so(cli: Cli, home: Path) -> None:
    r, _, _ = reversal_panel(days=700, tickers=10, phi=0.3, seed=6)
    tickers = _store(home, r, 690)
    cli("universe", "create", "ten", *tickers)
    config = home / "daily.toml"
    config.write_text(
        '[[universe]]\nname = "ten"\nmodel = "cnn"\nk = 2\nfetch = false\n'
        "train = { window = 5, channels = 8, epochs = 2, threads = 1 }\n"
    )
    doc = json.loads(cli("daily", "--json").stdout)
    (run,) = doc["tickers"]
    assert run["universe"] == "ten" and run["status"] == "forecast" and run["target"] == "rank"
    assert "trained u_ten-cnn" in run["detail"] and "long " in run["detail"]
    assert doc["exit_code"] == 0
    again = json.loads(cli("daily", "--json").stdout)["tickers"][0]
    assert again["status"] == "no new bar" and again["model_id"] == run["model_id"]  # not trained again
    rows = json.loads(cli("ledger", "--universe", "ten", "--json").stdout)["rows"]
    assert len(rows) == 10 and {row["model_id"] for row in rows} == {run["model_id"]}
    config.write_text('[[universe]]\nname = "ten"\ntarget = "log_return"\n')
    bad = cli("daily", code=None)
    assert bad.exit_code != 0 and "target 'log_return'; choose rank, excess, volatility" in bad.stderr
    # A pooled variance entry: its own network, each member's variance into the ledger.
    config.write_text(
        '[[universe]]\nname = "ten"\ntarget = "volatility"\nmodel = "cnn"\nfetch = false\n'
        "train = { window = 20, channels = 8, epochs = 1, threads = 1 }\n"
    )
    vol = json.loads(cli("daily", "--json").stdout)["tickers"][0]
    assert vol["target"] == "volatility" and vol["model_id"] != run["model_id"]
    assert "trained " in vol["detail"] and "highest volatility" in vol["detail"]
    config.write_text('[[universe]]\nname = "nosuch"\nfetch = false\n')
    failed = json.loads(cli("daily", "--json", code=None).stdout)
    assert failed["exit_code"] != 0 and "no universe 'nosuch'" in failed["tickers"][0]["detail"]


@pytest.mark.slow
def test_a_saved_pooled_variance_network_forecasts_each_member_and_the_ledger_scores_it(
    cli: Cli, home: Path
) -> None:
    """`train --universe --target volatility` keeps what a live forecast needs to read its
    scores as the backtest did; `forecast --universe` gives each member's variance beside its
    log-HAR, near the panel's true variance, and the ledger scores them as one record."""
    jsonschema = pytest.importorskip("jsonschema")
    from synth import garch_panel

    r, var = garch_panel(days=1000, tickers=10, seed=7)
    tickers = _store(home, r, 980)
    cli("universe", "create", "vol", *tickers)
    net = ["--model", "cnn", "--window", "30", "--channels", "8", "--epochs", "6", "--threads", "1"]
    trained = json.loads(
        cli("train", "--universe", "vol", "--target", "volatility", "--horizon", "5", *net, "--json").stdout
    )
    jsonschema.validate(trained, _schema("train-universe"))
    base = trained["baselines"]
    assert trained["target"] == "volatility" and set(base) == {
        "har",
        "log_har",
        "pooled_log_har",
        "leverage_har",
    }
    q, best = trained["test"]["qlike"], trained["best_baseline"]
    assert base[best]["qlike"] == min(b["qlike"] for b in base.values())
    assert q <= 1.1 * base["log_har"]["qlike"]  # no worse than each member's own log-HAR
    assert (trained["test"]["pooled_dm"]["statistic"] < 0) == (q < base[best]["qlike"])
    assert trained["test"]["skill_vs_best"] == pytest.approx(1 - q / base[best]["qlike"])
    assert "held-out" in trained["verdict"]
    shown = cli("models", "show", trained["model_id"], "--json").stdout
    assert '"log_var_mean"' in shown and '"log_sq_return"' in shown  # the readout and every scaler kept

    made = json.loads(cli("forecast", "--universe", "vol", "--json").stdout)
    jsonschema.validate(made, _schema("forecast-universe"))
    assert made["target"] == "volatility" and made["k"] == 0 and made["long"] == made["short"] == []
    assert len(made["ranking"]) == 10 and made["ledger_new"] == 10
    v = [x["variance"] for x in made["ranking"]]
    assert v == sorted(v, reverse=True) and all(x > 0 for x in v)
    # Near the truth: the mean of the true variances over the next 5 days (980 bars hold
    # returns 0..978; the forecast is of returns 979..983).
    truth = {t: var[979:984, i].mean() for i, t in enumerate(tickers)}
    ratios = np.array([x["variance"] / truth[x["ticker"]] for x in made["ranking"]])
    assert np.abs(np.log(ratios)).mean() < math.log(2)
    har = np.array([x["har_variance"] / truth[x["ticker"]] for x in made["ranking"]])
    assert np.isfinite(har).all() and np.abs(np.log(har)).mean() < math.log(2)
    human = cli("forecast", "--universe", "vol").stdout
    assert "volatility over the next 5 day(s), annualised" in human and "log-HAR" in human

    _store(home, r, 990)  # the five bars arrive
    doc = json.loads(cli("ledger", "--universe", "vol", "--json").stdout)
    jsonschema.validate(doc, _schema("ledger"))
    (summary,) = doc["summary"]
    assert summary["ticker"] == "vol" and summary["target"] == "volatility" and summary["scored"] == 10
    rows = [row for row in doc["rows"] if row["as_of"] == made["as_of"]]
    assert len(rows) == 10 and all(row["realised"] is not None for row in rows)
    got = {row["ticker"]: row["realised"] for row in rows}
    assert got["T00"] == pytest.approx(float(np.mean(r[979:984, 0] ** 2)), rel=1e-6)
    assert summary["scores"]["qlike"] is not None and summary["scores"]["har_qlike"] is not None


def test_a_pooled_variance_readout_serves_a_member_the_network_never_saw(home: Path) -> None:
    """The saved readout is used where a member has one; a new member's comes from its own
    outcomes known at the forecast's row, and the pooled calibration ratio."""
    from lstmcast.universe.members import show_universe
    from lstmcast.universe.panel import build_panel
    from lstmcast.universe.targets import learner_of
    from synth import garch_panel

    r, _ = garch_panel(days=400, tickers=3, seed=2)
    tickers = _store(home, r, 400)
    store = Store(home)
    from lstmcast.universe.members import create_universe

    create_universe(store, "three", tickers)
    panel = build_panel(store, show_universe(store, "three"))
    learner = learner_of("volatility")
    saved = {"pooled_ratio": 1.5, "members": {"T00": {"log_var_mean": -9.0, "log_var_sd": 0.5, "ratio": 1.2}}}
    readout = learner.saved_readout(saved, panel, 5, 390)
    out = readout.apply(np.zeros(3), np.arange(3))
    assert out[0] == pytest.approx(math.exp(-9.0) * 1.2)
    own = np.log(np.mean(r[1:386, 1] ** 2))  # roughly the level of its own log variance
    assert abs(math.log(out[1] / 1.5) - own) < 1.0 and readout.ratio[1] == 1.5  # type: ignore[attr-defined]
    # The same readout computed again after later rows change is unchanged: only rows whose
    # outcome was known at row 390 are read.
    later = r.copy()
    later[390:] *= 3
    _store(home, later, 400)
    panel2 = build_panel(store, show_universe(store, "three"))
    again = learner.saved_readout(saved, panel2, 5, 390).apply(np.zeros(3), np.arange(3))
    assert again == pytest.approx(out)
    store.close()
