"""Reading TOML files people write: syntax errors, unknown keys and wrong types named with
the file and the line (run configs, the watchlist, a cluster's security file)."""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lstmcast.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _type_ok(value: object, kind: object) -> bool:
    """Does a TOML value fit a config field's type? (bool is not an int here, an int is a float)."""
    if kind in ("int", int):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("float", float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind in ("bool", bool):
        return isinstance(value, bool)
    if kind in ("str", str):
        return isinstance(value, str)
    if kind == "str | None":
        return isinstance(value, str)
    if kind == "int | None":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in (list, dict):
        return isinstance(value, kind)
    if kind == "tuple[str, ...]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    raise TypeError(f"no TOML check for {kind!r}")  # a new field type needs a line above


_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "str": "a string",
    "str | None": "a string",
    "int | None": "an integer",
    "tuple[str, ...]": 'a list of strings like ["a", "b"]',
    "list": "a list of tables",
    "dict": "a table",
}


def line_of(text: str, key: str, table: str | None = None, nth: int = 0) -> int | None:
    """The line where `key = ...` is set: at the top level, in `[table]`, or in the nth
    `[[table]]` entry. TOML parsers give values, not positions; errors should name the line."""
    current: tuple[str | None, int] = (None, 0)
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.match(r"^\[\[?\s*([A-Za-z0-9_.\-]+)\s*\]\]?", line)
        if header:
            name = header.group(1)
            seen[name] = seen.get(name, -1) + 1
            current = (name, seen[name])
            continue
        if re.match(rf"^\"?{re.escape(key)}\"?\s*=", line) and current == (table, nth if table else 0):
            return number
    return None


def check_table(
    values: Mapping[str, object],
    fields: Mapping[str, object],
    where: str,
    text: str,
    table: str | None = None,
    nth: int = 0,
) -> None:
    """Raise ConfigError naming the key and its line for an unknown key or a value of the wrong type.

    `fields` maps each allowed key to its type (a dataclass field type string or a Python type).
    """
    for key, value in values.items():
        line = line_of(text, key, table, nth)
        at = f"{where}, line {line}" if line else where
        scope = f" in [{table}]" if table else ""
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(fields))}"
            raise ConfigError(f"{at}: unknown setting {key!r}{scope}{hint}")
        kind = fields[key]
        if not _type_ok(value, kind):
            name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
            want = _TYPE_WORDS.get(name, str(kind))
            raise ConfigError(f"{at}: {key} must be {want}, got {value!r}")


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """tomllib, with its syntax errors turned into a ConfigError naming the file."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def read_toml(path: Path, what: str) -> tuple[dict[str, Any], str]:
    """A TOML file's values and its text (to find lines in); ConfigError naming the file if not."""
    where = str(path)
    if path.exists() and not path.is_file():  # a FIFO would wait forever; a directory cannot be read
        raise ConfigError(f"{where}: not a regular file; give the {what} as a TOML file")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the {what} ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{where}: the {what} is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    # A byte-order mark (Windows editors write one) is not TOML: read past it, as editors do.
    text = text.removeprefix("\ufeff")
    return parse_toml(text, where), text
