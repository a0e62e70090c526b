"""`cron`: a ready crontab line for the daily run, with absolute paths and a time-zone note."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from lstmcast.errors import ConfigError
from lstmcast.jobs.watchlist import DAILY_CONFIG

CRON_TIME = (18, 30)  # 18:30 exchange time: well after the 16:00 close, when Yahoo has the bar
CRON_TZ = "America/New_York"


def executable() -> str:
    """The absolute command that runs this lstmcast (console script beside this Python)."""
    script = Path(sys.executable).parent / "lstmcast"
    if script.exists():
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m lstmcast"


def crontab_command(command: str) -> str:
    """A shell command as a crontab line's command field: cron turns every unescaped `%` into a
    newline (the rest becomes the command's input), so each `%` is written `\\%`, which cron
    gives the shell as a plain `%`. A line cannot hold a newline at all: refused."""
    if "\n" in command or "\r" in command:
        raise ConfigError("a path with a line break cannot go into a crontab line: use another --home")
    return command.replace("%", "\\%")


def cron_lines(home: Path) -> list[str]:
    hour, minute = CRON_TIME
    log = home / "daily.log"
    cfg = home / DAILY_CONFIG
    command = (
        f"LSTMCAST_HOME={shlex.quote(str(home))} {executable()} daily"
        f" --config {shlex.quote(str(cfg))} --quiet --log-file {shlex.quote(str(log))}"
    )
    return [
        f"# lstmcast daily forecasts: {hour:02d}:{minute:02d} {CRON_TZ} on weekdays, after the 16:00 close.",
        "# CRON_TZ needs cronie or systemd-cron; with another cron, convert"
        f" {hour:02d}:{minute:02d} New York",
        "# time to this machine's zone (check with `date`) and drop the CRON_TZ line.",
        "# Holidays need no care: a run with no new bar does nothing and exits 0. Exit 75 means retry later.",
        f"CRON_TZ={CRON_TZ}",
        f"{minute} {hour} * * 1-5 {crontab_command(command)}",
    ]
