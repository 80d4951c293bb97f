"""Benchmarks: each side by side with the baseline a user would otherwise use (`graphcrm bench`)."""
