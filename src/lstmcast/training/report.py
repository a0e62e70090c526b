"""What `lstmcast train --json` prints: one run's report, made from what was trained."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from lstmcast.evaluation.metrics import Metrics
from lstmcast.evaluation.verdict import Verdict
from lstmcast.evaluation.volatility import VolScores
from lstmcast.jsonable import to_jsonable
from lstmcast.prep.dataset import StaleReport
from lstmcast.threadpolicy import thread_choice
from lstmcast.training.scores import Trained


@dataclass
class TrainReport:
    """What `lstmcast train --json` prints; keys here are a contract with scripts."""

    model_id: str
    ticker: str
    model: str
    target: str
    window: int
    horizon: int
    epochs_run: int
    best_epoch: int
    stopped: str
    train_seconds: float
    device: str
    segments: dict[str, list[str]]
    test: dict[str, Metrics]
    test_price: dict[str, Metrics]
    dm_pvalue: float | None
    per_step: list[dict[str, float | None]]
    warnings: list[str]
    path: str
    history: list[dict[str, float]] = field(default_factory=list)
    by_ticker: dict[str, MemberReport] = field(default_factory=dict)  # global models: each member
    verdict: Verdict | None = None  # against the random walk and the best baseline
    threads: int = 0  # torch threads the fit ran on
    threads_why: str = ""  # --threads N, or what the thread policy saw

    def to_json(self) -> dict[str, object]:
        """The `train --json` document: every field, the verdict in its own JSON form."""
        doc = {f.name: to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {**doc, "verdict": self.verdict.to_json() if self.verdict else None}  # in its place


@dataclass(frozen=True)
class MemberReport:
    """One member's held-out result in a global model's report."""

    test: dict[str, Metrics]
    test_price: dict[str, Metrics]
    dm_pvalue: float | None
    segments: dict[str, list[str]]


def report_of(trained: Trained, model_id: str, path: Path) -> TrainReport:
    out = trained.fitted.outcome
    assert out is not None
    cfg = trained.config
    choice = thread_choice(cfg.threads)
    return TrainReport(
        model_id,
        trained.ticker,
        cfg.model,
        cfg.target,
        cfg.window,
        cfg.horizon,
        len(out.history),
        out.best_epoch,
        out.stopped,
        round(out.seconds, 3),
        trained.fitted.device,
        trained.segment_dates(),
        trained.scores.target,
        trained.scores.price,
        trained.dm_pvalue,
        trained.scores.per_step,
        trained.warnings,
        str(path),
        [dataclasses.asdict(h) for h in out.history],
        verdict=trained.verdict(),
        threads=choice.threads,
        threads_why=choice.why,
    )


@dataclass
class VolatilityTrainReport:
    """What `lstmcast train --target volatility --json` prints; keys here are a contract."""

    model_id: str
    ticker: str
    model: str
    target: str
    window: int
    horizon: int
    epochs_run: int
    best_epoch: int
    stopped: str
    train_seconds: float
    segments: dict[str, list[str]]
    n_test: int
    proxy: str  # the variance proxy used (after any fallback)
    stale_opens: StaleReport
    scores: VolScores  # the test segment's scores and tests against each HAR
    annualised: dict[str, float]  # each forecaster's mean forecast as annualised volatility
    warnings: list[str]
    path: str

    def to_json(self) -> dict[str, object]:
        """The `train --target volatility --json` document: the run, then "volatility" (the
        proxy, the scores and tests, and the annualised mean forecasts), its warnings, its path."""
        scores = volatility_scores_json(self.proxy, self.horizon, self.stale_opens, self.scores)
        volatility = {**scores, "annualised": self.annualised}
        run = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        own = ("proxy", "stale_opens", "scores", "annualised", "warnings", "path")
        doc: dict[str, object] = to_jsonable(
            {**{k: v for k, v in run.items() if k not in own}, "volatility": volatility,
             "warnings": self.warnings, "path": self.path}
        )  # fmt: skip
        return doc


def volatility_scores_json(
    proxy: str, horizon: int, stale: StaleReport, scores: VolScores
) -> dict[str, object]:
    """A volatility model's test scores as its manifest and `train --json` keep them: the
    proxy, the horizon, its stale opens, then every score and test."""
    doc: dict[str, object] = to_jsonable(
        {"proxy": proxy, "horizon": horizon, "stale_opens": stale, **to_jsonable(scores)}
    )
    return doc


@dataclass(frozen=True)
class QlikeRow:
    """One forecaster on a test segment: its mean QLIKE, skill against log-HAR, DM p."""

    qlike: float
    skill_vs_har: float
    dm_pvalue: float | None


@dataclass
class VolatilityFinetuneReport:
    """What `lstmcast finetune` of a volatility model prints; keys here are a contract."""

    model_id: str
    parent: str
    ticker: str
    target: str
    lr: float
    freeze: str
    benchmark: str  # the HAR every skill here is against (log-HAR)
    test: dict[str, QlikeRow]  # before (parent as is), after, scratch, then the baselines
    segments: dict[str, list[str]]
    path: str
    warnings: list[str]
