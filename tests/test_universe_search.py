"""`sweep --universe` and `tune --universe`: configurations compared on one universe, counted,
corrected for, and kept, so that a later run knows how many were tried before it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import ROOT, Cli
from lstmcast.evaluation.multiple import benjamini_hochberg, holm
from lstmcast.store.db import Store
from lstmcast.store.prices import upsert_prices
from synth import bars_from_log_returns, reversal_panel

NET = ["--window", "5", "--channels", "8", "--hidden", "8", "--epochs", "2", "--threads", "1", "--folds", "2"]


def _schema(name: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / "docs" / "schemas" / f"{name}.json").read_text()))


def _universe(home: Path, cli: Cli, days: int = 700, seed: int = 8) -> np.ndarray:
    r, _, _ = reversal_panel(days=days, tickers=10, phi=0.3, seed=seed)
    store = Store(home)
    tickers = [f"T{i:02d}" for i in range(r.shape[1])]
    for i, t in enumerate(tickers):
        upsert_prices(store.conn, t, bars_from_log_returns(r[:, i]), "synthetic")
    store.close()
    cli("universe", "create", "syn", *tickers)
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
    for args, says in [
        (["sweep", "--universe", "u", "--target", "rank", "--models", "cnn"], "universe u has 0 member(s)"),
        (["sweep", "IBM", "--universe", "u", "--target", "rank"], "not several"),
        (["sweep", "--universe", "u", "--target", "log_return"], "--universe judges its members with"),
    ]:
        res = cli(*args, code=None)
        assert res.exit_code == 1 and says in res.stderr and len(res.stderr.strip().splitlines()) == 1, (
            args,
            res.stderr,
        )
