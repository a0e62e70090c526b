"""The verdict: the model against the random walk and against the best baseline, each with the
test that fits the pair.

- Against a baseline the network nests (the random walk, the drift: a network can output a
  constant), Diebold-Mariano is undersized, because a nesting model's extra parameters add
  estimation noise under the null; Clark & West (2007) correct for it.
- Against a baseline it does not nest (the linear AR), Diebold-Mariano.

The best baseline is the one with the lowest MSE on the same origins. Choosing it on the
scored data can only make the model look worse, never better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lstmcast.evaluation.stats import clark_west, diebold_mariano
from lstmcast.settings import BASELINE_NAMES

NESTED = ("naive", "drift")  # baselines the network nests: Clark-West
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Comparison:
    """The model against one baseline over the whole forecast path (all H steps)."""

    baseline: str
    test: str  # "clark_west" (one-sided: model better) or "diebold_mariano" (two-sided)
    skill: float  # 1 - MSE / MSE of the baseline, target units
    statistic: float | None
    pvalue: float | None

    @property
    def better(self) -> bool:
        """Significantly better: positive skill and p below 5%."""
        return self.skill > 0 and self.pvalue is not None and self.pvalue < SIGNIFICANCE

    @property
    def worse(self) -> bool:
        """Significantly worse (only a two-sided test can say so)."""
        return (
            self.test == "diebold_mariano"
            and self.skill < 0
            and self.pvalue is not None
            and self.pvalue < SIGNIFICANCE
        )


@dataclass(frozen=True)
class Verdict:
    forecast: str  # which forecast was judged: "one seed" or "average of N seeds"
    vs_naive: Comparison
    best_baseline: str
    vs_best: Comparison

    def to_json(self) -> dict[str, object]:
        def one(c: Comparison) -> dict[str, object]:
            return {
                "baseline": c.baseline,
                "test": c.test,
                "skill": _finite(c.skill),
                "statistic": c.statistic,
                "pvalue": c.pvalue,
                "better": c.better,
                "worse": c.worse,
            }

        return {
            "forecast": self.forecast,
            "best_baseline": self.best_baseline,
            "vs_naive": one(self.vs_naive),
            "vs_best": one(self.vs_best),
        }


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def compare(model: np.ndarray, base: np.ndarray, truth: np.ndarray, baseline: str) -> Comparison:
    """`model`, `base`, `truth`: (N, H) target units on the same origins."""
    e_model, e_base = model - truth, base - truth
    base_mse = float(np.mean(e_base**2))
    skill = 1.0 - float(np.mean(e_model**2)) / base_mse if base_mse > 0 else math.nan
    horizon = e_model.shape[1] if e_model.ndim == 2 else 1
    if baseline in NESTED:
        stat, p, test = *clark_west(e_model, e_base, horizon), "clark_west"
    else:
        stat, p, test = *diebold_mariano(e_model, e_base, horizon), "diebold_mariano"
    return Comparison(
        baseline,
        test,
        skill,
        None if not math.isfinite(stat) else float(stat),
        None if not math.isfinite(p) else float(p),
    )


def judge(preds: dict[str, np.ndarray], truth: np.ndarray, forecast: str = "one seed") -> Verdict:
    """The verdict on `preds["model"]` against `preds`' baselines (naive, drift, linear)."""
    model = preds["model"]
    baselines = [name for name in BASELINE_NAMES if name in preds]
    best = min(baselines, key=lambda name: float(np.mean((preds[name] - truth) ** 2)))
    vs_naive = compare(model, preds["naive"], truth, "naive")
    vs_best = vs_naive if best == "naive" else compare(model, preds[best], truth, best)
    return Verdict(forecast, vs_naive, best, vs_best)
