"""Use cases, end to end: train and save, fine-tune, forecast and log, and the daily cron job."""
