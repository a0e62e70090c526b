"""Plain readings: one sentence beside a statistic, for a reader who is not a statistician.

Each function takes the figure as the JSON carries it and says what it means for the choice
in front of the user (keep the model, trust the intervals, deploy the tuned settings). None
where there is nothing to say (a missing figure). The wording is as strong as the test and
no stronger: a p-value above 0.05 is "cannot be told from", never "no difference".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lstmcast.evaluation.intervals import IntervalReport
    from lstmcast.evaluation.metrics import Metrics
    from lstmcast.evaluation.verdict import Verdict
    from lstmcast.evaluation.volatility import VolScores

# What to try when one method's intervals miss: the one that held where it did not.
NEXT_METHOD = {
    "empirical": "vol (scaled by HAR's volatility forecast)",
    "scaled": "vol (scaled by HAR's volatility forecast)",
    "aci": "vol (scaled by HAR's volatility forecast), which held every tercile on long held-out indices",
    "vol": "aci (adapted online to recent misses)",
}
TERCILE_SLACK = 0.05  # a tercile's coverage this far from the level is a miss


def pbo(value: float | None) -> str | None:
    """Bailey et al.'s probability of backtest overfitting, in words."""
    if value is None:
        return None
    share = f"in {value:.0%} of splits the best in-sample setting was below the median out of sample"
    if value >= 0.4:
        return f"{share}: the choice is close to a coin toss"
    if value >= 0.2:
        return f"{share}: the search found something, but much of its edge is luck"
    return f"{share}: the search's choice mostly held up out of sample"


def deflated_sharpe(probability: float | None, trials: int) -> str | None:
    """The deflated Sharpe ratio, in words."""
    if probability is None:
        return None
    lead = f"{probability:.0%} chance that the true Sharpe beats the luckiest of {trials} tried"
    if probability >= 0.95:
        return f"{lead}: the edge survives the number of tries"
    if probability >= 0.5:
        return f"{lead}: more likely real than not, but not established"
    return f"{lead}: the best result is what {trials} tries give by luck"


def sharpe_probability(probability: float | None) -> str | None:
    """The probabilistic Sharpe ratio of returns no choice saw, against zero, in words."""
    if probability is None:
        return None
    lead = f"{probability:.0%} chance that the strategy's true Sharpe out of sample is above zero"
    if probability >= 0.95:
        return f"{lead}: a positive edge, established"
    return f"{lead}: not established (95% is the bar)"


def qlike_skill(skill: float | None, against: str) -> str | None:
    """A QLIKE skill in words: how much closer the variance forecasts came."""
    if skill is None:
        return None
    if skill > 0:
        return f"its variance forecasts miss by {skill:.0%} less than {against}'s (QLIKE, lower is better)"
    return f"its variance forecasts miss by {-skill:.0%} more than {against}'s (QLIKE, lower is better)"


def mcs(members: list[str], model: str = "model") -> str:
    """The 90% Model Confidence Set in words."""
    if model not in members:
        return "the set of forecasters that cannot be told from the best leaves the model out"
    others = [m for m in members if m != model]
    if not others:
        return "the model is the only forecaster that cannot be told from the best"
    return f"the model and {', '.join(others)} cannot be told apart at the top"


def intervals(iv: IntervalReport) -> list[str]:
    """Each level whose intervals miss (Kupiec or Christoffersen p < 0.05, or a volatility
    tercile more than 5 points off), in words, with the method to try instead."""
    said = []
    for label, s in iv.levels.items():
        level = float(label) / 100
        why = []
        if s.kupiec_p is not None and s.kupiec_p < 0.05:
            overall = "–" if s.coverage is None else f"{s.coverage:.1%}"
            why.append(f"they cover {overall} overall (Kupiec p {s.kupiec_p:.3f})")
        if s.christoffersen_p is not None and s.christoffersen_p < 0.05:
            why.append(f"their misses come in clusters (Christoffersen p {s.christoffersen_p:.3f})")
        names = ("calm", "middle", "turbulent")
        for name, cover in zip(names, s.coverage_by_vol_tercile, strict=False):
            if cover is not None and abs(cover - level) > TERCILE_SLACK:
                why.append(f"they cover {cover:.1%} in {name} markets")
        if why:
            instead = NEXT_METHOD.get(iv.method)
            tail = f"; try --intervals {instead}" if instead else ""
            said.append(f"the {label}% intervals miss: {'; '.join(why)}{tail}")
    return said


def disagreement(v: Verdict | None, model: Metrics, sharpe: float, hold_sharpe: float) -> str | None:
    """When a backtest's tests disagree (no skill in MSE against the random walk in `v`, yet
    the `model`'s direction is called more often than chance, or acting on it earned a better
    Sharpe than buy-and-hold), which question each one answers."""
    if v is None or v.vs_naive.better or not math.isfinite(v.vs_naive.skill):
        return None
    direction_p, accuracy = model.directional_pvalue, model.directional_accuracy
    called = direction_p is not None and direction_p < 0.05 and accuracy is not None
    paid = math.isfinite(sharpe) and math.isfinite(hold_sharpe) and sharpe > hold_sharpe
    if not (called or paid):
        return None
    parts = ["the tests answer different questions: MSE asks whether the forecast's size is closer"
             " than the random walk's (here it is not)"]  # fmt: skip
    if called:
        parts.append(
            f"Pesaran-Timmermann asks whether its sign is right more often than chance ({accuracy:.0%}"
            f" right, p {direction_p:.3f}: it is)"
        )
    if paid:
        parts.append(
            f"the trading rule asks whether acting on it paid (Sharpe {sharpe:.2f} against"
            f" buy-and-hold's {hold_sharpe:.2f}, before counting how many rules were tried)"
        )
    return "; ".join(parts)


def far_off(vol: VolScores, annualised: dict[str, float], labels: dict[str, str], used: str) -> list[str]:
    """Baselines far off the mark (QLIKE more than 50% worse than the naive forecast), each
    with why: a level its coefficients learned on the training years that the test years did
    not keep (`annualised`: each one's mean forecast). They stay in the table; the verdict is
    against `used`."""
    said = []
    naive = annualised.get("naive")
    for name, sc in vol.scores.items():
        skill = sc.skill_vs_naive
        if name in ("model", "naive") or not math.isfinite(skill) or skill > -0.5:
            continue
        mean = annualised.get(name)
        level = f" forecast a mean volatility of {mean:.1f}%" if mean is not None else ""
        recent = f" where the naive forecast averaged {naive:.1f}%" if naive is not None else ""
        said.append(
            f"{labels.get(name, name)}{level}{recent}, {-skill:.0%} worse than naive in QLIKE: its"
            f" coefficients, fitted on the training years, do not fit the test years; it is shown,"
            f" and the verdict is against {used}"
        )
    return said
