"""Tunes and their trials: each finished trial a typed `TrialRecord`, written in its own
transaction as it arrives (store/resumable.py), and read back as the same type (the one
codec of a trial)."""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from enum import Enum

from lstmcast.errors import DamagedError
from lstmcast.store.db import utcnow
from lstmcast.store.resumable import Job, Jobs, save_unit


class TrialState(str, Enum):
    """How a trial ended; the stored word is the value."""

    COMPLETE = "complete"
    PRUNED = "pruned"
    FAILED = "failed"


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial of one outer fold's search, as the store keeps it."""

    fold: int
    number: int
    state: TrialState
    params: dict[str, object]
    value: float | None = None  # the inner skill, for a complete trial only
    steps: tuple[float, ...] = ()  # the inner skill after each inner fold run
    error: str | None = None  # why a failed trial failed
    seconds: float | None = None
    # Per inner origin (complete and pruned trials): its date, the loss gain over the
    # baseline, and the long-flat strategy's active return.
    dates: tuple[str, ...] = ()
    gain: tuple[float, ...] = ()
    active: tuple[float, ...] = ()
    worker: str | None = None
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def complete(self) -> bool:
        return self.state is TrialState.COMPLETE

    def path_json(self) -> dict[str, object]:
        """The per-origin part, as result_json holds it."""
        if not self.dates and self.worker is None:
            return {}
        return {
            "dates": list(self.dates),
            "gain": list(self.gain),
            "active": list(self.active),
            "worker": self.worker,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


@dataclass(frozen=True)
class TuneRecord:
    """One tune as the store keeps it: its settings (`config`: "train", "backtest", "space",
    "inner_folds", "sampler") and, once the outer folds are judged, the `tune --json` document."""

    id: str
    ticker: str
    model: str
    target: str
    trials: int
    config: dict[str, object]
    result: dict[str, object] | None = None
    updated_at: str = ""
    damaged: str | None = None  # why its stored JSON cannot be read; config and result are then empty


def save_tune(conn: sqlite3.Connection, tune: TuneRecord) -> None:
    """A tune's settings (its result is written once it is judged: `save_tune_result`)."""
    TUNES.save(conn, {
        "id": tune.id, "ticker": tune.ticker, "model": tune.model, "target": tune.target,
        "trials": tune.trials, "config": tune.config,
    })  # fmt: skip


def save_tune_result(conn: sqlite3.Connection, tune_id: str, result: dict[str, object]) -> None:
    TUNES.set(conn, tune_id, "result", result)


def save_trial(conn: sqlite3.Connection, tune_id: str, trial: TrialRecord) -> None:
    """One finished trial (complete, pruned or failed), committed at once. A trial number is
    written once: a second writer of the same number is refused, never let overwrite it."""
    save_unit(
        conn,
        "tune_trials",
        {
            "tune_id": tune_id,
            "fold": trial.fold,
            "number": trial.number,
            "state": trial.state.value,
            "params_json": json.dumps(trial.params),
            "value": trial.value,
            "steps_json": json.dumps(list(trial.steps)),
            "error": trial.error,
            "result_json": json.dumps(trial.path_json()),
            "seconds": trial.seconds,
            "finished_at": utcnow(),
        },
        taken=f"trial {trial.number} of fold {trial.fold} of tune {tune_id} is already stored:"
        " another run of this tune is writing to the same store",
    )


def trial_counts(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """Per tune, its stored trials by state."""
    out: dict[str, dict[str, int]] = {}
    for tune_id, state, n in conn.execute("SELECT tune_id, state, COUNT(*) FROM tune_trials GROUP BY 1, 2"):
        out.setdefault(tune_id, {})[state] = n
    return out


def trials_of(conn: sqlite3.Connection, tune_id: str) -> list[TrialRecord]:
    """Every stored trial of a tune, by fold and number."""
    rows = conn.execute(
        "SELECT * FROM tune_trials WHERE tune_id = ? ORDER BY fold, number", (tune_id,)
    ).fetchall()
    return [_trial(r) for r in rows]


def _trial(r: sqlite3.Row) -> TrialRecord:
    try:
        state = TrialState(r["state"])
        path = json.loads(r["result_json"]) or {}
        return TrialRecord(
            fold=int(r["fold"]),
            number=int(r["number"]),
            state=state,
            params=json.loads(r["params_json"]),
            value=r["value"],
            steps=tuple(math.nan if v is None else float(v) for v in json.loads(r["steps_json"])),
            error=r["error"],
            seconds=r["seconds"],
            dates=tuple(path.get("dates", ())),
            gain=tuple(float(v) for v in path.get("gain", ())),
            active=tuple(float(v) for v in path.get("active", ())),
            worker=path.get("worker"),
            started_at=path.get("started_at"),
            finished_at=path.get("finished_at"),
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise DamagedError(
            f"trial {r['number']} of fold {r['fold']} of tune {r['tune_id']} is damaged in the store"
            f" ({type(exc).__name__}: {exc}); delete the tune's rows or start a new tune"
        ) from None


def _tune(job: Job) -> TuneRecord:
    config, result = job.documents["config"], job.documents["result"]
    assert isinstance(config, dict) and (result is None or isinstance(result, dict))  # Jobs.decode checked
    c = job.columns
    return TuneRecord(
        job.id, str(c["ticker"]), str(c["model"]), str(c["target"]), int(c["trials"] or 0), config, result,
        job.updated_at, job.damaged,
    )  # fmt: skip


# A tune's settings (its id is their fingerprint); a rerun updates its trial budget. Its
# result is written once the outer folds are judged.
TUNES = Jobs(
    "tunes",
    ("ticker", "model", "target", "trials"),
    {"config": (dict,), "result": (dict, type(None))},
    ("trials",),
    _tune,
)


def list_tunes(conn: sqlite3.Connection) -> list[TuneRecord]:
    return TUNES.all(conn)


def get_tune(conn: sqlite3.Connection, tune_id: str) -> TuneRecord | None:
    return TUNES.get(conn, tune_id)
