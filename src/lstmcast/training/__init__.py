"""Fitting a network: the optimisation loop and safe checkpoints."""
