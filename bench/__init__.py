"""Benchmarks, run by ``make bench`` (``python -m bench``); never part of the test suite.

Each module exposes ``main() -> list[Row]`` and prints its figures as it
goes. Targets are ratios against a floor measured in the same process, since
these machines are shared and absolute times drift.
"""
