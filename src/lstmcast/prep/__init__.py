"""Turning bars into model inputs: features, windows, time splits and scaling (numpy only, no torch)."""
