"""Opening the SQLite file, WAL mode, transactions and numbered append-only migrations."""

from __future__ import annotations

import os
import resource
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from lstmcast.errors import ConfigError, DamagedError, NotFoundError, ReadOnlyStore, WriteRefused
from lstmcast.paths import db_path
from lstmcast.store.migrations import MIGRATIONS, TABLES


def utcnow() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class Store:
    """The store one command works with: opened (pragmas, migrations) once, on first use,
    and closed by whoever opened it. Library functions take a Store, never a path to open."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self.home)
        return self._conn

    def require_writable(self) -> None:
        """Refuse, before any work, a command that would write to a store it may only read."""
        ensure_writable(self.conn)
        models = self.home / "models"
        if models.exists() and not os.access(models, os.W_OK):
            raise ReadOnlyStore(f"{models} is read-only here: this command saves models; nothing was changed")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(home: Path) -> sqlite3.Connection:
    """Open (creating if needed) the store under `home` and bring its schema up to date."""
    if home.exists() and not home.is_dir():
        raise ConfigError(f"{home} is a file, not a directory: point --home or LSTMCAST_HOME at a directory")
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot use {home} as the data dir: {exc.strerror or exc}") from exc
    if db_path(home).is_dir():
        raise DamagedError(
            f"{db_path(home)} is a directory, not an lstmcast store: move it aside or restore a backup"
        )
    read_only = _read_only(home)
    if read_only and not db_path(home).is_file():
        raise ConfigError(f"{home} is read-only and holds no store yet: give a writable --home")
    # isolation_level=None: we issue BEGIN ourselves, so every write is one explicit transaction.
    conn = sqlite3.connect(_uri(home, read_only), timeout=30.0, isolation_level=None, uri=True)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    try:
        version = schema_version(conn)  # read before anything that would write the file
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DamagedError(
            f"{db_path(home)} is not a readable lstmcast store ({exc}); move it aside or restore a backup"
        ) from exc
    if version > len(MIGRATIONS):
        conn.close()
        raise DamagedError(
            f"{db_path(home)} has schema version {version}, newer than this lstmcast knows"
            f" ({len(MIGRATIONS)}): upgrade lstmcast (pip install -U lstmcast); nothing was changed"
        )
    if read_only and version < len(MIGRATIONS):
        conn.close()
        raise ConfigError(
            f"{db_path(home)} is read-only and was written by an older lstmcast (schema {version}, this"
            f" one reads {len(MIGRATIONS)}): open it once with write access to upgrade it"
        )
    try:
        if read_only:
            conn.execute("PRAGMA query_only = 1")  # what `transaction` checks before any write
        else:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn)
    except sqlite3.OperationalError as exc:  # a version that does not match the tables it has
        conn.close()
        refused = write_refused(exc, db_path(home))
        if refused is not None:
            raise refused from None
        raise DamagedError(
            f"{db_path(home)}: its schema version {version} does not match its tables ({exc}); it was"
            " changed by hand or damaged: restore a backup"
        ) from exc
    missing = sorted(set(TABLES) - {r[0] for r in conn.execute("SELECT name FROM sqlite_master")})
    if missing:
        conn.close()
        raise DamagedError(
            f"{db_path(home)} lacks its {', '.join(missing)} table(s) (dropped by hand, or damaged):"
            " restore a backup"
        )
    return conn


def _read_only(home: Path) -> bool:
    """A home or store file this process may not write: read commands still work (the owner's
    backup, a shared home, a read-only mount), and writes say "read-only"."""
    db = db_path(home)
    if not home.exists():
        return False
    return not os.access(home, os.W_OK) or (db.exists() and not os.access(db, os.W_OK))


def _uri(home: Path, read_only: bool) -> str:
    """The store's SQLite URI. Read-only, a WAL store still needs its -shm file; in a folder where
    none can be made (no writer has it open) the file is opened as immutable."""
    db = db_path(home)
    uri = f"file:{quote(str(db.absolute()))}"
    if not read_only:
        return uri
    shm = db.with_name(db.name + "-shm")
    return uri + ("?mode=ro" if shm.exists() or os.access(home, os.W_OK) else "?mode=ro&immutable=1")


def ensure_writable(conn: sqlite3.Connection) -> None:
    if conn.execute("PRAGMA query_only").fetchone()[0]:
        path = conn.execute("PRAGMA database_list").fetchone()[2]
        raise ReadOnlyStore(
            f"{path} is read-only here: this command writes to the store; nothing was changed"
        )


def write_refused(exc: BaseException, path: object) -> WriteRefused | None:
    """What a write the disk refused means, in one line, or None for another error. A full
    disk and a file-size limit (`ulimit -f`: SQLite sees EFBIG as an I/O error) are named;
    neither is damage, and the store is as it was before the write (SQLite rolled it back)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return None
    name = getattr(exc, "sqlite_errorname", "")
    kept = "this write was rolled back; nothing stored was changed"
    if name == "SQLITE_FULL" or "database or disk is full" in str(exc):
        return WriteRefused(f"disk full: {path} could not grow; {kept}. Free some space and run it again")
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in str(exc):
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY:
            return WriteRefused(
                f"{path} could not grow: this process may write files of at most {limit:,} bytes"
                f" (ulimit -f); {kept}. Raise the limit and run it again"
            )
        return WriteRefused(f"the disk refused a write to {path} ({exc}); {kept}. Check the disk")
    return None


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error: all of a write or none of it. A
    write the disk refuses (`write_refused`) is named in one line."""
    ensure_writable(conn)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back already (a full disk does)
                with suppress(sqlite3.Error):  # never hide the error that stopped the write
                    conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        refused = write_refused(exc, conn.execute("PRAGMA database_list").fetchone()[2])
        if refused is not None:
            raise refused from None
        raise


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the migrations this file does not have yet, each in its own transaction."""
    if schema_version(conn) >= len(MIGRATIONS):
        return
    with transaction(conn):
        # Re-read inside the write lock: a concurrent process may have migrated meanwhile.
        current = schema_version(conn)
        for number, sql in enumerate(MIGRATIONS[current:], start=current + 1):
            for statement in sql.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")


# Tables whose rows a user names by ID: what one is called, and the command that lists them.
NAMED_BY_ID = {"models": ("model", "lstmcast models"), "tunes": ("tune", "lstmcast tunes")}


MIN_PREFIX = 4  # characters a prefix needs where it picks what a command deletes


def resolve_prefix(conn: sqlite3.Connection, table: str, text: str, min_prefix: int = 1) -> str:
    """The row of `table` a user means: its whole ID, or any prefix of at least `min_prefix`
    characters that only it starts with (as git takes commits). An empty or blank ID names
    nothing (it is a prefix of every ID). None matching is NotFoundError; several name their
    candidates."""
    noun, listing = NAMED_BY_ID[table]  # a table name from this list only, never from input
    if not text.strip():
        raise ConfigError(f"an empty {noun} ID names no {noun}; `{listing}` lists them")
    if conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (text,)).fetchone():
        return text
    if len(text) < min_prefix:
        raise ConfigError(
            f"{text!r} is too short to pick the {noun} this deletes: give at least {min_prefix}"
            f" characters of its ID, or all of it (`{listing}` lists them)"
        )
    rows = conn.execute(
        f"SELECT id FROM {table} WHERE substr(id, 1, ?) = ? ORDER BY created_at, rowid", (len(text), text)
    ).fetchall()
    if len(rows) == 1:
        return str(rows[0][0])
    if not rows:
        raise NotFoundError(f"no {noun} {text!r}; `{listing}` lists them")
    ids = [str(r[0]) for r in rows]
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    raise NotFoundError(f"{text!r} is the start of {len(ids)} {noun} IDs ({shown}); give more of it")
