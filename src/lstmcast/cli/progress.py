"""A Rich progress bar for epochs on stderr, shown only to a person at a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from lstmcast.cli.common import err_console


@contextmanager
def epoch_progress(total: int, label: str, enabled: bool) -> Iterator[Callable[[Any], None] | None]:
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("epoch {task.completed}/{task.total}"),
        TextColumn("train {task.fields[train]}  val {task.fields[val]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console(), transient=True) as bar:
        task = bar.add_task(label, total=total, train="–", val="–")

        def on_epoch(log: Any) -> None:
            bar.update(task, completed=log.epoch, train=f"{log.train_loss:.4f}", val=f"{log.val_loss:.4f}")

        yield on_epoch


@contextmanager
def count_progress(total: int, label: str, enabled: bool) -> Iterator[Callable[[Any], None] | None]:
    """A bar over sweep cells: done, failed, remaining, ETA. Nothing without a terminal."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} cells, {task.fields[failed]} failed"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console(), transient=True) as bar:
        task = bar.add_task(label, total=total, failed=0)
        failed = 0

        def on_cell(cell: Any) -> None:
            nonlocal failed
            failed += cell["status"] != "ok"
            bar.update(task, advance=1, failed=failed)

        yield on_cell
