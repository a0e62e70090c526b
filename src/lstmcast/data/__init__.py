"""Getting series in and out: importing files, fetching from Yahoo, loading stored bars for the models."""
