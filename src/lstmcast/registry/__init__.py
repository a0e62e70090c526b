"""Saved models: checkpoints, manifests, their folders and records, and the training that saves."""
