"""Small shared pieces every stage uses: user errors, atomic writes and locks, progress bars,
execution backends (in-process, Dask), class-name matching, run records and the registry helper."""
