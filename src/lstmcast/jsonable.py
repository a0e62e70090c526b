"""Turning results into plain JSON values (dataclasses, numpy scalars, dates; NaN becomes
null), and a JSON object back into the dataclass it was written from."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def to_jsonable(value: object) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, BaseException):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    tolist, item = getattr(value, "tolist", None), getattr(value, "item", None)
    if getattr(value, "ndim", 0) > 0 and callable(tolist):  # numpy arrays
        return to_jsonable(tolist())
    if callable(item):  # numpy scalars
        return to_jsonable(item())
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN; null says "not defined"
    return value


def from_json_object(cls: type[T], data: Mapping[str, object], lists: tuple[str, ...] = ()) -> T:
    """The dataclass `cls` from a JSON object written from one: its own keys (others are a
    newer or older lstmcast's and are left), those in `lists` as tuples again (JSON has only
    lists). Its constructor checks what it must; each value is what its field was written from."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]  # a dataclass, by contract
    kwargs: dict[str, Any] = {k: v for k, v in data.items() if k in names}
    for key in lists:
        if isinstance(kwargs.get(key), list):
            kwargs[key] = tuple(kwargs[key])
    return cls(**kwargs)


def number(value: object) -> float:
    """A JSON number as a float; a TypeError for anything else (what a damaged file gives)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def number_or_none(value: object) -> float | None:
    """A JSON number as a float; None for anything else (null, or what an older file lacks)."""
    return None if isinstance(value, bool) or not isinstance(value, (int, float)) else float(value)


def json_object(value: object) -> Mapping[str, object]:
    """A JSON object; a TypeError for anything else."""
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def json_at(doc: object, *keys: str) -> object:
    """doc[k1][k2]... of a JSON document, or None where a key is missing or a step is not a
    JSON object (what an older file, or one of another target, lacks)."""
    for key in keys:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc
