"""`sweep --universe` and `tune --universe`: configurations compared on one universe, counted,
corrected for, and kept, so that a later run knows how many were tried before it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, Cli
from lstmcast.evaluation.multiple import benjamini_hochberg, holm
from synth import reversal_panel, store_panel

NET = ["--window", "5", "--channels", "8", "--hidden", "8", "--epochs", "2", "--threads", "1", "--folds", "2"]


def _schema(name: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / "docs" / "schemas" / f"{name}.json").read_text()))


def _universe(home: Path, cli: Cli, days: int = 700, seed: int = 8, tickers: int = 10) -> np.ndarray:
    r, _, _ = reversal_panel(days=days, tickers=tickers, phi=0.3, seed=seed)
    return _stored(home, cli, r)


def _stored(home: Path, cli: Cli, r: np.ndarray) -> np.ndarray:
    cli("universe", "create", "syn", *store_panel(home, r))
    return r


@pytest.mark.slow
def test_a_universe_sweep_adjusts_for_its_models_deflates_over_every_run_and_resumes(
    cli: Cli, home: Path
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    _universe(home, cli)
    args = ["sweep", "--universe", "syn", "--target", "rank", "--models", "cnn,gru", *NET]
    doc = json.loads(cli(*args, "--json").stdout)
    jsonschema.validate(doc, _schema("sweep-universe"))
    rows = doc["rows"]
    assert doc["compared"] == 2 and {r["model"] for r in rows} == {"cnn", "gru"}
    assert not any(r["resumed"] for r in rows)
    assert rows[0]["value"] >= rows[1]["value"]  # the best rank IC first
    # The planted reversal is found by every network, and each is judged against its best baseline.
    assert all(r["value"] > 0.05 and r["t"] > 3 for r in rows)
    p = [r["dm_pvalue"] for r in rows]
    assert [r["pvalue_adjusted"] for r in rows] == pytest.approx(benjamini_hochberg(p))
    assert doc["survivors"] == sum(r["pvalue_adjusted"] < 0.05 and r["dm_statistic"] < 0 for r in rows)
    assert doc["deflated_over"] == 2 and 0 <= doc["deflated_sharpe"] <= 1
    assert "of 2 configuration(s) beat their best baseline after Benjamini-Hochberg" in doc["verdict"]

    # The same sweep again: read back, not run again, and not counted twice.
    again = json.loads(cli(*args, "--adjust", "holm", "--json").stdout)
    assert all(r["resumed"] for r in again["rows"]) and again["deflated_over"] == 2
    assert [r["value"] for r in again["rows"]] == [r["value"] for r in rows]
    assert [r["pvalue_adjusted"] for r in again["rows"]] == pytest.approx(holm(p))
    # Another setting on the same test dates is one more configuration tried.
    other = [a if a != "2" or i != NET.index("--epochs") + 1 else "3" for i, a in enumerate(NET)]
    third = json.loads(cli("sweep", "--universe", "syn", "--target", "rank", "--models", "cnn", *other,
                           "--json").stdout)  # fmt: skip
    assert third["deflated_over"] == 3 and not third["rows"][0]["resumed"]
    human = cli(*args).stdout
    assert "2 configuration(s)" in human and "verdict:" in human and "read back from the store" in human


def test_universe_sweep_and_tune_refuse_what_does_not_fit(cli: Cli, home: Path) -> None:
    cli("universe", "create", "u", "AAA", "BBB")
    bad = home.parent / "bad.toml"
    bad.write_text("[features]\nchoices = ['hl_range']\n")
    cases: list[tuple[list[Any], str]] = [
        (
            ["tune", "--universe", "u", "--target", "rank", "--space", bad],
            "features does not apply",
        ),
        (["tune", "--universe", "u", "--target", "rank"], "universe u has 0 member(s)"),
        (["sweep", "--universe", "u", "--target", "rank", "--models", "cnn"], "universe u has 0 member(s)"),
        (["sweep", "IBM", "--universe", "u", "--target", "rank"], "not several"),
        (["sweep", "--universe", "u", "--target", "log_return"], "--universe judges its members with"),
    ]
    for args, says in cases:
        res = cli(*args, code=None)
        assert res.exit_code == 1 and says in res.stderr and len(res.stderr.strip().splitlines()) == 1, (
            args,
            res.stderr,
        )


TUNE = ["tune", "--universe", "syn", "--target", "rank", "--model", "cnn", "--window", "5", "--channels", "8",
        "--epochs", "1", "--batch-size", "256", "--threads", "1", "--folds", "2", "--inner-folds", "2",
        "--trials", "3", "--workers", "1"]  # fmt: skip
SMALL = """
[window]
choices = [5, 10]
[channels]
low = 4
high = 16
[batch_size]
choices = [256, 512]
[layers]
value = 1
[kernel_size]
choices = [3, 5]
"""


@pytest.mark.slow
def test_a_universe_tune_searches_only_the_past_and_its_choice_is_what_backtest_gives(
    cli: Cli, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    r = _universe(home, cli, days=500, tickers=8)
    space = tmp_path / "space.toml"
    space.write_text(SMALL)
    args = [*TUNE, "--space", space]
    doc = json.loads(cli(*args, "--out", tmp_path / "out", "--json").stdout)
    jsonschema.validate(doc, _schema("tune-universe"))
    assert doc["trials_run"] == 3 and doc["trials_failed"] == 0
    assert doc["inner_span"].split("..")[1] < doc["outer_span"].split("..")[0]  # the search saw the past only
    complete = [t for t in doc["trials"] if t["state"] == "complete"]
    best = max(complete, key=lambda t: t["value"])
    assert doc["chosen"] == best["params"] and doc["chosen_inner"] == best["value"]
    assert doc["deflated_over"] >= 3 and doc["outer_tried"] == 2  # the chosen and the starting settings
    assert doc["helped"] == (doc["tuned"]["value"] >= doc["start"]["value"])
    assert "trial(s) searched on the dates before" in doc["verdict"]
    toml = (tmp_path / "out" / "best.toml").read_text()
    assert 'universe = "syn"' in toml and (tmp_path / "out" / "trials.csv").read_text().count("\n") == 4
    # The chosen settings walked over the test span are exactly `backtest --config best.toml`.
    again = json.loads(cli("backtest", "--config", tmp_path / "out" / "best.toml", "--json").stdout)
    assert again["panel"]["rank_ic_mean"] == pytest.approx(doc["tuned"]["value"], abs=1e-12)
    # Run again: every trial is read back, and the choice is the same.
    rerun = json.loads(cli(*args, "--json").stdout)
    assert all(t["resumed"] for t in rerun["trials"]) and rerun["chosen"] == doc["chosen"]

    # The test span replaced by noise in another store: the search sees the same past, so
    # it scores the same trials alike and chooses the same settings.
    other = tmp_path / "other"
    monkeypatch.setenv("LSTMCAST_HOME", str(other))
    days = pd.bdate_range("2001-01-01", periods=len(r) + 1).strftime("%Y-%m-%d")
    cut = int(np.searchsorted(days, doc["outer_span"].split("..")[0]))  # the first test row
    noisy = r.copy()
    noisy[cut - 1 :] = np.random.default_rng(0).normal(0, 0.02, size=noisy[cut - 1 :].shape)
    _stored(other, cli, noisy)
    blind = json.loads(cli(*args, "--json").stdout)
    assert [t["value"] for t in blind["trials"]] == [t["value"] for t in doc["trials"]]
    assert blind["chosen"] == doc["chosen"] and blind["inner_span"] == doc["inner_span"]
    assert blind["tuned"]["value"] != doc["tuned"]["value"]  # the test span did change
