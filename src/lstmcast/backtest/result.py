"""One backtest result, whatever the target: what every walk-forward shares (the ticker, the
configs, the frame, each fold's span) and the target's own outcome, which owns the rest.

`Backtest.to_json()` is the single serialiser of `backtest --json`: the shared keys, then the
outcome's. Every number in it was computed when the result was built; nothing is computed
here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from lstmcast.backtest.walkforward import FoldSummary
from lstmcast.config import TrainConfig
from lstmcast.prep.dataset import Frame
from lstmcast.runconfig import BacktestConfig


class Outcome(Protocol):
    """A target's part of a backtest: what its forecasts were and how they scored."""

    def n_predictions(self) -> int: ...

    def period(self, frame: Frame, horizon: int) -> list[str]:
        """The first and last dates the forecasts are of."""
        ...

    def to_json(self, result: Backtest[Outcome]) -> dict[str, object]:
        """The target's keys of the --json document."""
        ...


T = TypeVar("T", bound=Outcome, covariant=True)
K = TypeVar("K", bound=Outcome)


@dataclass(frozen=True)
class Backtest(Generic[T]):
    ticker: str
    config: TrainConfig
    bt: BacktestConfig
    frame: Frame
    folds: list[FoldSummary[Any]]  # each fold's span and its own scores (the first seed's)
    outcome: T
    members: list[str] = field(default_factory=list)  # the other tickers of a global model

    def of(self, kind: type[K]) -> Backtest[K]:
        """This result as a backtest of `kind` outcomes: how a family's table, files or figure
        (chosen by the result's target) reads its own outcome. Another kind is a bug."""
        out = self.outcome
        if not isinstance(out, kind):
            raise TypeError(f"a {type(out).__name__} backtest read as a {kind.__name__} one")
        return Backtest(self.ticker, self.config, self.bt, self.frame, self.folds, out, self.members)

    @property
    def notes(self) -> list[str]:
        """What the user should know about the data (a fallback proxy, an aligned input)."""
        return list(self.frame.notes)

    def to_json(self) -> dict[str, object]:
        """The documented --json shape: the keys every target shares, then its own."""
        cfg = self.config
        return {
            "ticker": self.ticker,
            "model": cfg.model,
            "target": cfg.target,
            "window": cfg.window,
            "horizon": cfg.horizon,
            "scheme": self.bt.scheme,
            "seeds": list(range(cfg.seed, cfg.seed + self.bt.seeds)),
            "folds": [f.to_json() for f in self.folds],
            "n_predictions": self.outcome.n_predictions(),
            "period": self.outcome.period(self.frame, cfg.horizon),
            **self.outcome.to_json(self),
        }
