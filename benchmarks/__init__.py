"""Benchmarks: each prints our figure beside its baseline, measured in the same run."""
