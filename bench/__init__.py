"""Benchmarks: pytest-benchmark suites (test_*.py) and the framework code they and `crosscheck bench` time (kernels.py)."""
