"""The column-wise percentage formatting of the verdict reasons against ``_pct``, value by value."""

from __future__ import annotations

import math

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from regsho.surveillance import findings as fi

_EDGES = [None, 0.0, -0.0, 1.0, 0.5, 0.00025, 0.00075, 0.12345, 0.1225, 0.9995, 0.99949999, 0.99950001, 1e-17,
          -0.3, math.inf, -math.inf, math.nan, 123.456, 2e20]


def _check(values: list[float | None]) -> None:
    got = fi._pct_col(pl.Series(values, dtype=pl.Float64)).to_list()
    assert got == [fi._pct(v) for v in values]


def test_edges_and_ties() -> None:
    # every quarter of a tenth of a percent: the halves are exact ties in binary
    _check(_EDGES + [k / 4000 for k in range(4001)] + [k / 1000 + 5e-4 for k in range(1000)])


@given(st.lists(st.one_of(st.none(), st.floats(0.0, 1.0), st.floats(allow_nan=True, allow_infinity=True)),
                max_size=50))
def test_any_figures(values: list[float | None]) -> None:
    _check(values)
