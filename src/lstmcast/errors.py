"""Readable library errors; only the CLI turns them into exit codes."""

from __future__ import annotations

EXIT_OK = 0
EXIT_BAD_INPUT = 1
EXIT_USAGE = 2
EXIT_TEMPFAIL = 75  # EX_TEMPFAIL from sysexits.h: a cron wrapper may retry


class LstmcastError(Exception):
    """Base class: a message a user can act on, and the exit code it maps to."""

    exit_code = EXIT_BAD_INPUT


class DataError(LstmcastError):
    """Input data is missing, malformed or too short."""


class NotFoundError(LstmcastError):
    """A ticker, model or file that the user named does not exist."""


class ConfigError(LstmcastError):
    """An option or a config file holds a value that cannot work."""


class TemporaryError(LstmcastError):
    """Something that may work if retried later: network, rate limit, a held lock."""

    exit_code = EXIT_TEMPFAIL


class LockHeldError(TemporaryError):
    """Another run holds the lock."""


class TrainingDiverged(LstmcastError):
    """The loss became NaN or infinite."""
