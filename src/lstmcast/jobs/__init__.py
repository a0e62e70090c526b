"""Unattended runs: the daily watchlist job, its lock, and the crontab line that schedules it."""
