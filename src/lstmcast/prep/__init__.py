"""Turning bars into model inputs: a config's frame, features, windows, time splits and scaling (no torch)."""
