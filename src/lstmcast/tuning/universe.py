"""`tune --universe`: a universe network's settings chosen on the dates before its test span,
then walked forward over that span as `backtest --universe` walks it.

The search sees a panel cut at the backtest's first test date: each trial is a walk-forward
(`--inner-folds` blocks, the same test share) over that past only, judged by the target's
judge, and scored by its value (a rank IC, or a QLIKE skill against the best baseline). An
Optuna sampler, seeded, asks for the trials one by one; each walk's folds and seeds go to the
workers. Every judged trial is kept in the trial register (`store.trials`) as it finishes, so
a tune run again (after Ctrl-C, or with more trials) reads its finished trials back. The
chosen settings and the starting ones are then walked over the test span, and the verdict
counts the search: how many trials, the chosen trial's Sharpe deflated over every
configuration tried on the same inner dates (this tune's and any before it), and the chosen
settings out of sample beside the starting ones.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lstmcast.backtest.panel_walk import WalkSummary
from lstmcast.config import TrainConfig
from lstmcast.errors import ConfigError, DataError
from lstmcast.execution.engine import Parallel, held_cluster
from lstmcast.fingerprint import fingerprint
from lstmcast.jsonable import to_jsonable
from lstmcast.paths import atomic_write_bytes
from lstmcast.runconfig import RunConfig, run_config_toml
from lstmcast.runlock import run_lock
from lstmcast.store.db import Store
from lstmcast.sweep.universe import Deflation, deflate_over_tried, judged_walk, panel_fingerprint
from lstmcast.target import target_of
from lstmcast.tuning.space import Space, default_space, read_space
from lstmcast.tuning.tune import TuneSettings
from lstmcast.universe.folds import plan_blocks
from lstmcast.universe.members import Survivorship, show_universe
from lstmcast.universe.panel import build_panel
from lstmcast.universe.targets import learner_of

KEEP = "keep the starting settings: they did better out of sample"


def helped(tuned: WalkSummary, start: WalkSummary) -> bool:
    """The chosen settings did at least as well out of sample as the starting ones."""
    a, b = tuned.value, start.value
    return a is None or b is None or a >= b


def universe_space(base: TrainConfig, path: Path | None) -> Space:
    """The search space for a universe network: the default's settings that a network across a
    universe takes (or the file's, of which one it refuses is refused in one line)."""
    target = target_of(base.target)
    refused = {**target.refused, **(target.on_universe or {})}
    default = default_space(base)
    start = dataclasses.replace(default, params=tuple(p for p in default.params if p.name not in refused))
    if path is None:
        return start
    space = read_space(path, base, start)
    for name in [p.name for p in space.params] + [k for k, _ in space.fixed]:
        if name in refused:  # only the file can have put it there
            raise ConfigError(
                f"{path}: {name} does not apply to --target {base.target} on a universe: {refused[name]}"
            )
    return space


@dataclass(frozen=True)
class UniverseTrial:
    number: int
    params: dict[str, object]
    state: str  # "complete" or "failed"
    value: float | None  # the inner walk's value (higher is better)
    resumed: bool  # read back from the register
    error: str | None = None
    summary: WalkSummary | None = field(default=None, repr=False)


@dataclass
class UniverseTune:
    tune_id: str
    universe: str
    target: str
    model: str
    space: str
    inner_span: str  # the inner walks' test dates, all before the outer span
    outer_span: str
    trials: list[UniverseTrial]
    chosen: dict[str, object]  # the best trial's settings
    chosen_inner: float | None
    tuned: WalkSummary  # the chosen settings walked over the outer span
    start: WalkSummary  # the starting settings, the same way
    inner_deflated: Deflation  # the chosen trial's inner Sharpe, over the inner configurations tried
    outer_tried: Deflation  # the tuned portfolio's outer Sharpe, over every configuration tried there
    outer_psr: float | None  # that the tuned portfolio's true outer Sharpe is positive
    survivorship: Survivorship
    best_config_path: str
    wall_seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(1 for t in self.trials if t.state == "failed")

    @property
    def helped(self) -> bool:
        return helped(self.tuned, self.start)

    def verdict(self) -> str:
        metric = self.tuned.metric
        done = len(self.trials) - self.failed
        head = f"{done} trial(s) searched on the dates before {self.outer_span.split('..')[0]}"
        if self.failed:
            head += f" ({self.failed} failed)"
        inner = _num(self.chosen_inner)
        out = (
            f"{metric} {_num(self.tuned.value)} out of sample (inner {inner}), the starting settings"
            f" {_num(self.start.value)}"
        )
        parts = [head, out, "tuning helped" if self.helped else KEEP]
        if self.inner_deflated.probability is not None:
            parts.append(
                f"the chosen trial's inner Sharpe, deflated over {self.inner_deflated.tried} configurations"
                f" tried on those dates: {self.inner_deflated.probability:.3f}"
            )
        parts.append(f"against its best baseline out of sample: {self.tuned.verdict}")
        return "; ".join(parts)

    def to_json(self) -> dict[str, object]:
        def walk(s: WalkSummary) -> dict[str, object]:
            return dict(to_jsonable({k: v for k, v in s.to_dict().items() if k != "sharpe"}))

        return {
            "tune_id": self.tune_id,
            "universe": self.universe,
            "target": self.target,
            "model": self.model,
            "space": self.space,
            "inner_span": self.inner_span,
            "outer_span": self.outer_span,
            "trials": [
                {k: v for k, v in to_jsonable(dataclasses.asdict(t)).items() if k != "summary"}
                for t in self.trials
            ],
            "trials_run": len(self.trials),
            "trials_failed": self.failed,
            "chosen": to_jsonable(self.chosen),
            "chosen_inner": self.chosen_inner,
            "tuned": walk(self.tuned),
            "start": walk(self.start),
            "helped": self.helped,
            "deflated_sharpe": self.inner_deflated.probability,
            "deflated_over": self.inner_deflated.tried,
            "outer_tried": self.outer_tried.tried,
            "outer_deflated_sharpe": self.outer_tried.probability,
            "sharpe_probability": self.outer_psr,
            "survivorship": to_jsonable(self.survivorship),
            "best_config_path": self.best_config_path,
            "wall_seconds": self.wall_seconds,
            "verdict": self.verdict(),
            "notes": self.notes,
        }


def _num(x: float | None) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.4f}"


def _trial(
    number: int,
    params: dict[str, object],
    judge: Callable[[TrainConfig], tuple[WalkSummary, bool]],
    space: Space,
    base: TrainConfig,
) -> UniverseTrial:
    """One trial: its settings walked on the past and judged; a setting that cannot be
    trained, or a walk with too few dates to judge, fails the trial (the search goes on)."""
    try:
        cfg = space.apply(base, params).validate()
        target_of(cfg.target).check(cfg, universe=True)
        summary, resumed = judge(cfg)
    except (ConfigError, DataError) as exc:
        return UniverseTrial(number, dict(params), "failed", None, False, str(exc))
    if summary.value is None or not math.isfinite(summary.value):
        why = "no value: too few dates to judge"
        return UniverseTrial(number, dict(params), "failed", None, resumed, why, summary)
    return UniverseTrial(number, dict(params), "complete", summary.value, resumed, None, summary)


def tune_universe(
    store: Store,
    run: RunConfig,
    settings: TuneSettings,
    space_file: Path | None = None,
    parallel: Parallel = Parallel(),
    on_trial: Callable[[str], None] | None = None,
) -> UniverseTune:
    """Search universe `run.universe`'s settings on the dates before its test span, then walk
    the chosen and the starting settings over that span."""
    import optuna

    store.require_writable()
    assert run.universe is not None
    t0 = time.perf_counter()
    base = run.train.replace(threads=0) if parallel.distributed else run.train
    space = universe_space(base, space_file)  # a bad space is refused before any work
    universe = show_universe(store, run.universe)
    panel = build_panel(store, universe)
    h = base.horizon
    outer = plan_blocks(panel, learner_of(base.target).outcome(panel, h), run.backtest, universe.name,
                        "a walk-forward")  # fmt: skip
    cut = int(outer.test_rows[0])
    past = panel.before(cut)  # nothing on or after the first test date reaches the search
    inner_bt = dataclasses.replace(run.backtest, folds=settings.inner_folds)
    tune_id = fingerprint(
        [base.replace(threads=0).to_dict(), dataclasses.asdict(run.backtest), space.to_json(),
         settings.sampler, settings.inner_folds, panel_fingerprint(panel)]
    )  # fmt: skip
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler: optuna.samplers.BaseSampler = (
        optuna.samplers.RandomSampler(seed=base.seed)
        if settings.sampler == "random"
        else optuna.samplers.TPESampler(seed=base.seed)
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    lock = run_lock(store.home / "locks" / f"tune-{tune_id}.lock", f"tune {tune_id}")
    with lock, held_cluster(parallel):  # one run of this search at a time; one cluster for its walks
        distributions = space.distributions()
        trials: list[UniverseTrial] = []
        for number in range(settings.trials):
            if settings.timeout is not None and time.perf_counter() - t0 > settings.timeout:
                break
            trial = study.ask(distributions)
            done = _trial(number, trial.params, lambda cfg: judged_walk(
                store, past, universe.name, universe.survivorship, cfg, inner_bt, f"tune {tune_id}", parallel
            ), space, base)  # fmt: skip
            if done.state == "complete":
                study.tell(trial, done.value)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            trials.append(done)
            if on_trial:
                on_trial(f"trial {number}: {trials[-1].state}")
        complete = [t for t in trials if t.state == "complete"]
        if not complete:
            why = trials[0].error if trials else "no trial started"
            raise DataError(f"tune --universe {universe.name}: no trial completed ({why})")
        best = max(complete, key=lambda t: t.value if t.value is not None else -math.inf)
        chosen = space.apply(base, best.params).validate()
        tuned, _ = judged_walk(store, panel, universe.name, universe.survivorship, chosen, run.backtest,
                               f"tune {tune_id} outer", parallel)  # fmt: skip
        start, _ = judged_walk(store, panel, universe.name, universe.survivorship, base, run.backtest,
                               f"tune {tune_id} outer", parallel)  # fmt: skip
    assert best.summary is not None
    inner_span = best.summary.span
    psr = None if tuned.sharpe is None else tuned.sharpe.deflated(1, 0.0)
    path = store.home / "tunes" / tune_id / "best.toml"
    best_run = dataclasses.replace(run, train=chosen.replace(threads=run.train.threads))
    text = run_config_toml(best_run)
    if not helped(tuned, start):
        text = f"# {KEEP} than these\n" + text
    atomic_write_bytes(path, text.encode())
    notes = [] if universe.survivorship.point_in_time else [universe.survivorship.warning or ""]
    return UniverseTune(
        tune_id=tune_id,
        universe=universe.name,
        target=base.target,
        model=base.model,
        space="; ".join(f"{p.name} {p.describe()}" for p in space.params),
        inner_span=inner_span,
        outer_span=tuned.span,
        trials=trials,
        chosen=dict(best.params),
        chosen_inner=best.value,
        tuned=tuned,
        start=start,
        inner_deflated=deflate_over_tried(store, universe.name, base.target, inner_span, best.summary.sharpe),
        outer_tried=deflate_over_tried(store, universe.name, base.target, tuned.span, tuned.sharpe),
        outer_psr=psr,
        survivorship=universe.survivorship,
        best_config_path=str(path),
        wall_seconds=time.perf_counter() - t0,
        notes=notes,
    )
