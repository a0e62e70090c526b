"""Where prices come from: CSV files and Yahoo Finance. Only these modules touch the outside world."""
