"""Benchmarks (not tests): each reports its figures next to a baseline measured in the same run, on the same data.

- ``regsho.bench.gate``: the pre-trade short-sale gate over a synthetic trading day (``regsho bench gate``).
"""
