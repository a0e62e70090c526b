"""Short content hashes: what keys a sweep cell, a sweep or a tune, and the bars it ran on."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from lstmcast.bars import Bars

if TYPE_CHECKING:
    import pandas as pd


def fingerprint(value: object, length: int = 16) -> str:
    """A short hash of a JSON-able value: what keys a cell, a sweep or a tune."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:length]


def data_fingerprint(bars: Bars | pd.DataFrame) -> str:
    """A short hash of the bars themselves, index included: the same data, the same key (as
    pandas hashes the bars' DataFrame, so that keys stored before stay valid)."""
    import pandas as pd

    frame = bars.frame() if isinstance(bars, Bars) else bars
    h = hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return h.hexdigest()[:16]
