"""Benchmarks: `python -m bench.run` (see BENCHMARKS.md) and `bench/faces_bench.py`; not part of the tests."""
