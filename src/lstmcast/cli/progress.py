"""A Rich progress bar for epochs on stderr, shown only to a person at a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from lstmcast.cli.common import err_console

if TYPE_CHECKING:
    from rich.progress import TaskID

    from lstmcast.store.tunes import TrialRecord
    from lstmcast.sweep.cells import Cell
    from lstmcast.training.watch import EpochLog


@contextmanager
def epoch_progress(total: int, label: str, enabled: bool) -> Iterator[Callable[[EpochLog], None] | None]:
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("epoch {task.fields[epoch]}/{task.total}"),
        TextColumn("train {task.fields[train]}  val {task.fields[val]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console(), transient=True) as bar:
        task = bar.add_task(label, total=total, epoch=1, train="–", val="–")
        yield _EpochBar(bar, task, total)


class _EpochBar:
    """Called with each epoch's log; `batch` moves the bar within an epoch."""

    def __init__(self, bar: Progress, task: TaskID, epochs: int) -> None:
        self.bar, self.task, self.epochs, self.done = bar, task, epochs, 0

    def __call__(self, log: EpochLog) -> None:
        self.done = log.epoch
        self.bar.update(
            self.task,
            completed=log.epoch,
            epoch=min(log.epoch + 1, self.epochs),
            train=f"{log.train_loss:.4f}",
            val=f"{log.val_loss:.4f}",
        )

    def batch(self, seen: int, total: int) -> None:
        self.bar.update(self.task, completed=self.done + seen / total)


def _bar(counts: str) -> Progress:
    """A transient bar on stderr: label, bar, `counts` (a format over the task), and the ETA."""
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn(counts), TimeRemainingColumn())
    return Progress(*columns, console=err_console(), transient=True)


@contextmanager
def step_progress(total: int, label: str, unit: str, enabled: bool) -> Iterator[Callable[[str], None] | None]:
    """A bar over `total` steps (a universe sweep's models, a tune's trials), each named as it
    ends, with an ETA; on a terminal only."""
    if not enabled:
        yield None
        return
    with _bar("{task.completed}/{task.total} " + unit + "  {task.fields[last]}") as bar:
        task = bar.add_task(label, total=total, last="")

        def on_step(what: str) -> None:
            bar.update(task, advance=1, last=what)

        yield on_step


@contextmanager
def count_progress(total: int, label: str, enabled: bool) -> Iterator[Callable[[Cell], None] | None]:
    """A bar over sweep cells: done, failed, remaining, ETA. Nothing without a terminal."""
    if not enabled:
        yield None
        return
    with _bar("{task.completed}/{task.total} cells, {task.fields[failed]} failed") as bar:
        task = bar.add_task(label, total=total, failed=0)
        failed = 0

        def on_cell(cell: Cell) -> None:
            nonlocal failed
            failed += cell.status != "ok"
            bar.update(task, advance=1, failed=failed)

        yield on_cell


@contextmanager
def fold_progress(label: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A bar over walk-forward folds (of every seed) with an ETA, on a terminal only."""
    if not enabled:
        yield None
        return
    from lstmcast.training.watch import watch_epochs

    with _bar("{task.completed}/{task.total} folds  {task.fields[epoch]}") as bar:
        task = bar.add_task(label, total=None, epoch="")

        def on_fold(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, epoch="")

        def on_epoch(log: EpochLog) -> None:  # a fold fitted in this process: the epoch it is on
            bar.update(task, epoch=f"(this fold: epoch {log.epoch}, val {log.val_loss:.4g})")

        with watch_epochs(on_epoch):
            yield on_fold


@contextmanager
def trial_progress(
    total: int, label: str, enabled: bool
) -> Iterator[Callable[[str, TrialRecord], None] | None]:
    """A bar over a tune's trials: finished, pruned, failed, ETA. Nothing without a terminal."""
    if not enabled:
        yield None
        return
    from lstmcast.training.watch import watch_epochs

    with (
        _bar(
            "{task.completed}/{task.total} trials, {task.fields[pruned]} pruned, {task.fields[failed]}"
            " failed  {task.fields[epoch]}"
        ) as bar,
        watch_epochs(lambda log: bar.update(task, epoch=f"(fitting here: epoch {log.epoch})")),
    ):
        task = bar.add_task(label, total=total, pruned=0, failed=0, epoch="")
        counts = {"pruned": 0, "failed": 0}

        def on_trial(ticker: str, trial: TrialRecord) -> None:
            if trial.state.value in counts:
                counts[trial.state.value] += 1
            bar.update(task, advance=1, pruned=counts["pruned"], failed=counts["failed"])

        yield on_trial
