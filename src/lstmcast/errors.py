"""Readable library errors, by kind; only the CLI decides which exit code each kind gets."""

from __future__ import annotations


class LstmcastError(Exception):
    """Base class: a message a user can act on."""


class DataError(LstmcastError):
    """Input data is missing, malformed or too short."""


class NotFoundError(LstmcastError):
    """A ticker, model or file that the user named does not exist."""


class ConfigError(LstmcastError):
    """An option or a config file holds a value that cannot work."""


class ReadOnlyStore(ConfigError):
    """A write asked of a store this process may only read."""


class DamagedError(LstmcastError):
    """Something lstmcast wrote earlier (a model's files, the store) is unreadable or too new."""


class WriteRefused(LstmcastError):
    """The disk refused a write to the store (full, a file-size limit, an I/O error); the write
    was rolled back whole."""


class TemporaryError(LstmcastError):
    """Something that may work if retried later: network, rate limit, a held lock."""


class LockHeldError(TemporaryError):
    """Another run holds the lock."""


class TrainingDiverged(LstmcastError):
    """The loss became NaN or infinite."""


class Interrupted(LstmcastError):
    """The user pressed Ctrl-C before anything worth keeping existed."""
