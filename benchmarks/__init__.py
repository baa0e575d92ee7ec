"""Benchmarks: run with ``make bench``; they print numbers, they assert nothing."""
