"""Saved models: checkpoints, manifests, their error pools, folders and records."""
