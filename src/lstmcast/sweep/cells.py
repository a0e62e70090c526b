"""A sweep cell's result, typed from the worker to the leaderboard, and its stored JSON.

A worker returns a `ReturnCell` (log-return or price target) or a `VolCell` (volatility); the
driver keeps each as a `Cell` with its ticker, model, seed and status, writes it to the store
as JSON (`to_json`), and reads stored ones back with `from_json`, which names a cell stored
by an older lstmcast without the forecasts the leaderboard needs instead of misreading it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmcast.errors import ConfigError, DataError
from lstmcast.target import target_of


@dataclass(frozen=True)
class Ran:
    """Where and when a cell ran (wall clock): how benchmarks/bench_sweep.py tells Dask's gaps
    between a worker's cells from the cells themselves."""

    worker: str = ""
    threads: int = 0
    seconds: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0


@dataclass(frozen=True)
class ReturnCell:
    """One seed's return backtest: its own scores, and every forecaster's forecasts (N, H) in
    target units with what happened, from which the leaderboard judges the seeds' average."""

    target: str  # log_return or price
    skill_vs_naive: float
    dm_pvalue: float | None
    directional_accuracy: float | None
    sharpe: float
    preds: dict[str, np.ndarray]
    truth: np.ndarray  # (N, H)
    origin_price: np.ndarray  # (N,)
    realised: np.ndarray  # (N,) log return earned over t -> t+1
    ran: Ran = Ran()

    @property
    def seconds(self) -> float:
        """The cell's own compute time (what the engine reports as the task's)."""
        return self.ran.seconds

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target,
            "skill_vs_naive": self.skill_vs_naive,
            "dm_pvalue": self.dm_pvalue,
            "directional_accuracy": self.directional_accuracy,
            "sharpe": self.sharpe,
            "preds": {k: v.tolist() for k, v in self.preds.items()},
            "truth": self.truth.tolist(),
            "origin_price": self.origin_price.tolist(),
            "realised": self.realised.tolist(),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], ran: Ran, what: str) -> ReturnCell:
        if "preds" not in doc:
            raise DataError(
                f"sweep cells of {what} were stored by an older lstmcast without their"
                " forecasts; run the sweep again to recompute them"
            )
        return cls(
            str(doc["target"]),
            float(doc["skill_vs_naive"]),
            doc.get("dm_pvalue"),
            doc.get("directional_accuracy"),
            float(doc["sharpe"]),
            {k: _array(v) for k, v in doc["preds"].items()},
            _array(doc["truth"]),
            _array(doc["origin_price"]),
            _array(doc["realised"]),
            ran,
        )


@dataclass(frozen=True)
class VolCell:
    """One seed's volatility backtest: its skill against log-HAR, every forecaster's variance
    forecasts (N,) and the realised proxy."""

    horizon: int
    skill_vs_har: float
    forecasts: dict[str, np.ndarray]
    realised: np.ndarray
    ran: Ran = Ran()

    @property
    def seconds(self) -> float:
        """The cell's own compute time (what the engine reports as the task's)."""
        return self.ran.seconds

    def to_json(self) -> dict[str, object]:
        return {
            "target": "volatility",
            "horizon": self.horizon,
            "skill_vs_har": self.skill_vs_har,
            "forecasts": {k: v.tolist() for k, v in self.forecasts.items()},
            "realised": self.realised.tolist(),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], ran: Ran, what: str) -> VolCell:
        if "forecasts" not in doc:
            raise DataError(f"sweep cells of {what} were stored without their forecasts; run the sweep again")
        return cls(
            int(doc["horizon"]),
            float(doc["skill_vs_har"]),
            {k: _array(v) for k, v in doc["forecasts"].items()},
            _array(doc["realised"]),
            ran,
        )


CellResult = ReturnCell | VolCell


@dataclass(frozen=True)
class Cell:
    """A sweep cell as the driver keeps it: what it is, and how it ended."""

    key: str
    ticker: str
    model: str
    seed: int
    status: str  # "ok" or "failed"
    result: CellResult | None = None
    error: str | None = None
    seconds: float | None = None
    resumed: bool = False


def to_json(result: CellResult) -> dict[str, Any]:
    """The stored form: arrays as lists, where and when it ran at the top level."""
    return {**result.to_json(), **dataclasses.asdict(result.ran)}


def _array(value: object) -> np.ndarray:
    return np.asarray(value, dtype="float64")


def from_json(doc: dict[str, Any], ticker: str, model: str) -> CellResult:
    """A stored result, typed again by its target's family; a DataError for one stored
    without its forecasts."""
    ran = Ran(
        str(doc.get("worker", "")),
        int(doc.get("threads") or 0),
        float(doc.get("seconds") or 0.0),
        float(doc.get("started_at") or 0.0),
        float(doc.get("finished_at") or 0.0),
    )
    try:
        kind = _CELLS[target_of(str(doc.get("target", "log_return"))).family]
    except (ConfigError, KeyError):
        raise DataError(
            f"sweep cells of {ticker} {model} name an unknown target {doc.get('target')!r}"
        ) from None
    return kind.from_json(doc, ran, f"{ticker} {model}")


# The cell each family of target a sweep runs returns.
_CELLS: dict[str, type[ReturnCell] | type[VolCell]] = {"return": ReturnCell, "volatility": VolCell}
