"""What a host holds and is to get: the release to deploy (source.py), whether anything changed
(unchanged.py, converged.py, host_state.py), what each task manages, results handed between hosts."""
