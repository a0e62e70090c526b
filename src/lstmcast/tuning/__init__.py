"""`lstmcast tune`: a nested walk-forward search of a model's settings, with the search counted."""
