"""`lstmcast sweep`: many (ticker, model, seed) backtests at once, each stored as it ends, judged together."""
