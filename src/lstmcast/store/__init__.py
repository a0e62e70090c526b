"""The local SQLite store: prices, trained-model runs and the forecast ledger. Only it speaks SQL."""
