"""Benchmarks: each runs a roost operation and the raw-driver form of the same SQL in one run."""
