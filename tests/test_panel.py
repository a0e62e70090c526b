"""The panel: dates x tickers by index, point-in-time membership, and scalers that stop at the cutoff."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstmcast.errors import ConfigError, DataError
from lstmcast.store.db import Store
from lstmcast.store.prices import upsert_prices
from lstmcast.universe.members import create_universe
from lstmcast.universe.panel import (
    build_panel,
    check_fits,
    cross_sectional_z,
    gather,
    inputs,
    panel_size,
    sample_index,
    standardise,
)


def _store(tmp_path: Path, spans: dict[str, tuple[str, int]]) -> Store:
    """A store with one random-walk series per ticker: (first business day, bars)."""
    store = Store(tmp_path / "home")
    rng = np.random.default_rng(0)
    for ticker, (start, n) in spans.items():
        idx = pd.bdate_range(start, periods=n, name="date")
        p = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
        bars = pd.DataFrame(
            {"open": p, "high": p, "low": p, "close": p, "adj_close": p, "volume": 1e6}, index=idx
        )
        upsert_prices(store.conn, ticker, bars, "test")
    return store


def test_the_panel_keeps_a_ticker_out_of_the_dates_it_was_not_a_member(tmp_path: Path) -> None:
    store = _store(
        tmp_path, {"AAA": ("2020-01-01", 300), "BBB": ("2020-03-02", 200), "CCC": ("2020-01-01", 300)}
    )
    members = tmp_path / "m.csv"
    members.write_text("AAA,,\nBBB,,\nCCC,2020-06-01,2020-08-31\n")
    panel = build_panel(store, create_universe(store, "u", members=members))
    assert panel.tickers == ("AAA", "BBB", "CCC") and len(panel.dates) == 300
    day = panel.dates.strftime("%Y-%m-%d").to_numpy()
    c = panel.tickers.index("CCC")
    assert (panel.member[:, c] == ((day >= "2020-06-01") & (day <= "2020-08-31"))).all()
    b = panel.tickers.index("BBB")
    assert not panel.listed[day < "2020-03-02", b].any()  # no bar before it listed
    r = panel.returns()
    assert np.isnan(r[~panel.member[:, c], c]).all() and np.isfinite(r[panel.member[:, c], c][1:]).all()
    fwd = panel.forward(5)
    t = 100
    assert fwd[t, 0] == pytest.approx(np.log(panel.close[t + 5, 0] / panel.close[t, 0]))
    assert np.isnan(fwd[-5:]).all()
    assert panel.index_of("2020-06-03") == int(np.nonzero(day <= "2020-06-03")[0][-1])


def test_a_panel_needs_two_members_with_prices(tmp_path: Path) -> None:
    store = _store(tmp_path, {"AAA": ("2020-01-01", 50)})
    with pytest.raises(DataError, match="1 member\\(s\\) with prices: a panel needs two"):
        build_panel(store, create_universe(store, "u", ["AAA", "GONE"]))


def test_each_tickers_scaler_sees_only_rows_up_to_the_cutoff() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(0, [0.01, 0.03], size=(400, 2))
    values[:10, 1] = np.nan  # listed later
    cutoff = 249
    z = standardise(values, cutoff)
    assert np.nanmean(z[: cutoff + 1], axis=0) == pytest.approx([0, 0], abs=1e-12)
    assert np.nanstd(z[: cutoff + 1], axis=0, ddof=1) == pytest.approx([1, 1])
    future = values.copy()
    future[cutoff + 1 :] *= 100  # whatever happens after the cutoff...
    assert np.array_equal(standardise(future, cutoff)[: cutoff + 1], z[: cutoff + 1], equal_nan=True)


def test_a_cross_sectional_z_score_reads_one_date_only() -> None:
    rng = np.random.default_rng(2)
    values = rng.normal(size=(50, 8))
    values[3, :7] = np.nan  # one ticker listed that day: no z-score
    z = cross_sectional_z(values)
    ok = np.isfinite(z[5])
    assert z[5][ok].mean() == pytest.approx(0, abs=1e-12) and z[5][ok].std(ddof=1) == pytest.approx(1)
    assert np.isnan(z[3]).all()
    changed = values.copy()
    changed[6] *= 10
    assert np.array_equal(cross_sectional_z(changed)[:6], z[:6], equal_nan=True)


def test_windows_are_index_maps_gathered_per_batch(tmp_path: Path) -> None:
    store = _store(tmp_path, {"AAA": ("2020-01-01", 120), "BBB": ("2020-02-03", 100)})
    panel = build_panel(store, create_universe(store, "u", ["AAA", "BBB"]))
    values, names = inputs(panel, cutoff=80, cross_sectional=True)
    assert (
        values.dtype == np.float32
        and values.shape == (len(panel.dates), 2, 2)
        and names == ("return", "return_cs_z")
    )
    valid = np.isfinite(values).all(axis=-1)
    target = panel.forward(1)
    t, n = sample_index(valid, target, window=10, rows=slice(0, 81))
    assert t.max() <= 80 and len(t) == len(n) > 0
    for ti, ni in zip(t, n, strict=True):  # every window whole and known
        assert valid[ti - 9 : ti + 1, ni].all() and np.isfinite(target[ti, ni])
    b = panel.tickers.index("BBB")
    late = int(np.argmax(valid[:, b]))
    assert (t[n == b] >= late + 9).all()  # BBB's first sample waits for its first full window
    batch = gather(values, t[:4], n[:4], 10)
    assert batch.shape == (4, 10, 2)
    assert np.array_equal(batch[2], values[t[2] - 9 : t[2] + 1, n[2]])
    assert t.nbytes + n.nbytes < len(t) * 10 * 2 * 4  # the index is smaller than the copied windows


def test_the_memory_estimate_matches_the_research_and_refuses_what_does_not_fit() -> None:
    size = panel_size(dates=25 * 252, tickers=500, features=20, window=60)
    assert size.copied_bytes == pytest.approx(15.1e9, rel=0.01)  # "15 GB as copied windows"
    assert size.panel_bytes < 0.5e9  # "0.25 GB as views", with its closes and masks
    check_fits(size, available=int(4e9))  # fits
    with pytest.raises(ConfigError) as caught:
        check_fits(size, available=int(0.2e9))
    line = str(caught.value)
    assert "more than this machine has free (0.20 GB)" in line and "\n" not in line
    assert "15.12 GB as copied 60-day windows" in line
