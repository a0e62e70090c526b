"""Running tasks: in this process, on an embedded local Dask cluster, or on a scheduler by address."""
