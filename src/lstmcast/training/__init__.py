"""Fitting networks: the loop, fitted forecasters, pooled models, fine-tuning, the model registry."""
