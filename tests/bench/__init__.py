"""The benchmark script runs (smoke test only: no timing assertions)."""
