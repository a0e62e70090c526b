"""Walk-forward evaluation, the trading simulation, plots and the leakage audit."""
