"""Unattended runs: the daily watchlist job and the crontab line that schedules it."""
