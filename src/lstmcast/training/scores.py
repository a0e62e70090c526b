"""Scoring a fitted forecaster on its test segment against the baselines, and the
out-of-sample errors its intervals are made of."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.evaluation.scoring import (
    BlockForecasts,
    HarScale,
    Scores,
    actuals,
    baseline_forecasts,
    dm_vs_naive,
    fit_har_scale,
    har_sigma,
    naive_scale,
    origin_sigma,
    score_block,
    to_price,
    tracks_previous_value,
)
from lstmcast.evaluation.verdict import Verdict, judge
from lstmcast.inference.predictor import reaches_further, run_out_to
from lstmcast.prep.dataset import Frame, Segments
from lstmcast.training.fitted import Fitted


@dataclass
class Trained:
    """Everything a training run produced, in memory."""

    ticker: str
    config: TrainConfig
    frame: Frame
    segments: Segments
    fitted: Fitted
    scores: Scores
    residuals: list[np.ndarray]  # per step: log(actual/forecast) at validation and test origins
    dm_pvalue: float | None = None  # Diebold-Mariano, model vs naive on the test segment's paths
    warnings: list[str] = field(default_factory=list)
    block: BlockForecasts | None = None  # the test forecasts of the model and each baseline
    scores_scaled: list[np.ndarray] = field(default_factory=list)  # residuals / EWMA vol at origin
    scores_vol: list[np.ndarray] = field(default_factory=list)  # residuals / HAR vol at origin
    har_scale: HarScale | None = None  # that HAR, fitted on training rows: the live one too

    def truth(self) -> np.ndarray:
        """(N, H) what happened after each test origin, target units."""
        assert self.block is not None
        return actuals(self.frame, self.block.at, self.config.horizon)[0]

    def verdict(self) -> Verdict | None:
        return judge(self.block.by_name, self.truth()) if self.block is not None else None

    def segment_dates(self) -> dict[str, list[str]]:
        d = self.frame.dates
        s = self.segments

        def day(i: int) -> str:
            return str(d[i].date())

        return {
            "train": [day(0), day(s.train_end - 1)],
            "validation": [day(s.train_end), day(s.val_end - 1)],
            "test": [day(s.val_end), day(s.n - 1)],
        }


def evaluate_fitted(ticker: str, config: TrainConfig, frame: Frame, seg: Segments, fitted: Fitted) -> Trained:
    o = seg.origins(config.window, config.horizon)
    test_at = o["test"]
    preds = baseline_forecasts(
        frame, test_at, config.horizon, config.window, o["train"], seg.train_end, fitted.scaler
    )
    y_model = fitted.predict(frame, test_at)
    block = BlockForecasts(
        test_at, {"model": y_model, **preds}, scale=naive_scale(frame, 0, seg.train_end, len(test_at))
    )
    scores = score_block(frame, block)
    # Out-of-sample errors for the forecast intervals, at every step a forecast may ask for.
    oos_at = np.concatenate([o["val"], test_at])
    residuals = out_of_sample_residuals(frame, fitted, oos_at)
    sigma = origin_sigma(frame, oos_at)
    scaled = [r / sigma[: len(r)] for r in residuals]  # step k keeps the first origins with a k-th bar
    # The same errors over HAR's volatility at each origin (HAR fitted on training rows): the
    # pool `--intervals vol` draws on.
    har_scale = fit_har_scale(frame, seg.train_end)
    har = har_sigma(frame, oos_at, seg.train_end, har_scale)
    by_har = [r / har[: len(r)] for r in residuals]
    warnings = list(frame.notes)
    if tracks_previous_value(frame, test_at, y_model):
        warnings.append(
            "the model's price forecasts sit closer to the previous price than to the actual one:"
            " it mostly copies yesterday's price (compare with naive, which does exactly that)"
        )
    _, dm_p = dm_vs_naive(frame, block)  # on the whole path: the verdict's one test
    skill = scores.target["model"].skill_vs_naive
    if np.isfinite(skill) and skill <= 0:
        warnings.append(
            f"no skill: the model does worse than the random walk on the test segment ({skill:+.1%})"
        )
    dm = None if np.isnan(dm_p) else float(dm_p)
    return Trained(
        ticker, config, frame, seg, fitted, scores, residuals, dm, warnings, block, scaled, by_har, har_scale
    )


# A one-step model forecasts further by feeding its forecasts back in; it is evaluated out of
# sample that far at training time, and `forecast` refuses horizons it was not evaluated at.
EXTENDED_STEPS = 20  # about a trading month


def out_of_sample_residuals(frame: Frame, fitted: Fitted, at: np.ndarray) -> list[np.ndarray]:
    """Per step k, log(actual / forecast price) k bars after each origin in `at` that has a
    k-th bar: the errors the forecast intervals come from. A one-step model is run as a
    recursive one out to EXTENDED_STEPS, so its longer horizons are measured, not assumed."""
    if reaches_further(fitted.config):
        fitted = run_out_to(fitted, EXTENDED_STEPS)
    steps = fitted.config.horizon
    paths = to_price(frame, at, fitted.predict(frame, at))  # (N, steps)
    out = []
    for k in range(steps):
        ok = at + k + 1 <= frame.n - 1
        out.append(np.log(frame.price[at[ok] + k + 1] / paths[ok, k]))
    return out


def pooled_verdict(members: list[Trained]) -> Verdict | None:
    """A global model's verdict over every member's test origins together."""
    blocks = [m.block for m in members if m.block is not None]
    if len(blocks) != len(members):
        return None
    names = blocks[0].by_name
    preds = {k: np.concatenate([b.by_name[k] for b in blocks]) for k in names}
    return judge(preds, np.concatenate([m.truth() for m in members]))
