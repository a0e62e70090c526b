"""Fitting networks: the loop, fitted forecasters, pooled models, fine-tuning; nothing here writes."""
