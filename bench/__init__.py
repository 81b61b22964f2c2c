"""Benchmarks: a data generator and the timings of follow-ups, reciprocity and the scheduler.

Run by `make bench` (not by `make test`); `python -m bench.run --help` for the options.
"""
