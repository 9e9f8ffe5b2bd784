"""Benchmarks (not tests): `make bench` (scale and speed) and `make bench-nlu` (nlu/bench.py)."""
