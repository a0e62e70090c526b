"""Running many backtests at once: in one process, on a local Dask cluster, or on a remote one."""
