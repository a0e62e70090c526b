"""Resumable jobs, the mechanics sweeps and tunes share.

A job is one row: its id (the fingerprint of what decides its results), when it was made and
last run, its own columns, and its settings and outcome as JSON; running it again updates
the row. Its units (a sweep's cells, a tune's trials) are rows of their own table, each
committed in its own transaction as it finishes, so a job that is killed resumes from every
unit it stored. A job whose JSON cannot be read is listed with `damaged` saying why, beside
the healthy ones, never in their place.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from lstmcast.errors import LockHeldError
from lstmcast.store.db import transaction, utcnow


@dataclass(frozen=True)
class Job:
    """One stored job as read: its plain columns and its JSON documents, by name. A job whose
    documents cannot be read has each one empty and `damaged` saying why."""

    id: str
    created_at: str
    updated_at: str
    columns: dict[str, str | int | float | None]
    documents: dict[str, object]
    damaged: str | None = None


R = TypeVar("R")


@dataclass(frozen=True)
class Jobs(Generic[R]):
    """One table of jobs. `columns` are its plain columns besides id and times; `documents`
    its JSON ones, each `<name>_json`, by the type its value must have (None allowed where
    the column may be empty); a rerun overwrites `updated_at` and the columns in `rerun`.
    `record` reads a decoded job as the record its kind of job is (a sweep's, a tune's)."""

    table: str
    columns: tuple[str, ...]
    documents: dict[str, tuple[type, ...]]
    rerun: tuple[str, ...]
    record: Callable[[Job], R]

    def save(self, conn: sqlite3.Connection, job: Mapping[str, object]) -> None:
        """Write a job, or update the row of the same id with a rerun's values."""
        now = utcnow()
        values = {"id": job["id"], "created_at": now, "updated_at": now}
        values |= {c: job[c] for c in self.columns}
        values |= {f"{d}_json": json.dumps(job[d]) for d in self.documents if d in job}
        update = ", ".join(f"{c} = excluded.{c}" for c in ("updated_at", *self.rerun))
        with transaction(conn):
            conn.execute(
                f"INSERT INTO {self.table} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})"
                f" ON CONFLICT (id) DO UPDATE SET {update}",
                tuple(values.values()),
            )

    def set(self, conn: sqlite3.Connection, job_id: str, document: str, value: object) -> None:
        """Replace one JSON document of a stored job (a tune's result, once it is judged)."""
        assert document in self.documents
        with transaction(conn):
            conn.execute(
                f"UPDATE {self.table} SET {document}_json = ?, updated_at = ? WHERE id = ?",
                (json.dumps(value), utcnow(), job_id),
            )

    def all(self, conn: sqlite3.Connection) -> list[R]:
        """Every job, least recently run first."""
        rows = conn.execute(f"SELECT * FROM {self.table} ORDER BY updated_at, id")
        return [self.record(self.decode(r)) for r in rows]

    def get(self, conn: sqlite3.Connection, job_id: str) -> R | None:
        row = conn.execute(f"SELECT * FROM {self.table} WHERE id = ?", (job_id,)).fetchone()
        return self.record(self.decode(row)) if row else None

    def decode(self, row: sqlite3.Row) -> Job:
        """A job's row with its JSON documents read; one that cannot be read (or is not of its
        type) leaves every document empty and `damaged` saying why."""
        columns = dict(row)
        raw = {d: columns.pop(f"{d}_json") for d in self.documents}
        times = (str(columns.pop("id")), str(columns.pop("created_at")), str(columns.pop("updated_at")))
        documents: dict[str, object] = {}
        try:
            for d, text in raw.items():
                documents[d] = None if text is None else json.loads(text)
                if not isinstance(documents[d], self.documents[d]):
                    raise TypeError(f"{d} is not a JSON {self.documents[d][0].__name__}")
        except (json.JSONDecodeError, TypeError) as exc:
            empty = {d: None if type(None) in self.documents[d] else self.documents[d][0]() for d in raw}
            damaged = f"its stored {' or '.join(self.documents)} cannot be read as JSON ({exc})"
            return Job(*times, columns, empty, damaged)
        return Job(*times, columns, documents)


def save_unit(
    conn: sqlite3.Connection, table: str, unit: dict[str, object], taken: str | None = None
) -> None:
    """One finished unit, committed at once. With `taken`, a unit is written once: a second
    writer of the same key is refused with that message (another run of the same job), never
    let overwrite it; without, the unit found again replaces the stored one."""
    verb = "INSERT" if taken else "INSERT OR REPLACE"
    try:
        with transaction(conn):
            conn.execute(
                f"{verb} INTO {table} ({', '.join(unit)}) VALUES ({', '.join('?' * len(unit))})",
                tuple(unit.values()),
            )
    except sqlite3.IntegrityError:
        if taken is None:
            raise
        raise LockHeldError(taken) from None
