"""Threshold status, 17 CFR 242.203(c)(6): boundaries of every parameter, chunked equals whole, and the real data."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.marketdata.conftest import days, history, shares_table

from regsho.law import params
from regsho.marketdata import threshold

C = "36467W109"
TSO = {C: 2_000_000}  # 0.5% = 10,000 shares, the same as the share floor
ON = 20_000


def spells(series: dict[str, list[int]], counts: dict[str, int] | None = None) -> pl.DataFrame:
    return threshold.compute(history(series), shares_table(counts or TSO)).spells


def test_parameters_come_from_the_dated_table() -> None:
    p = threshold.ThresholdParams.over(dt.date(2021, 1, 4), dt.date(2021, 6, 30))
    d = dt.date(2021, 1, 4)
    assert (p.min_shares, p.min_fraction, p.days, p.closeout_days) == (
        params.value("threshold.min_fail_shares", d), params.value("threshold.min_fail_fraction_tso", d),
        params.value("threshold.consecutive_days", d), params.value("closeout.threshold_days", d))
    with pytest.raises(params.RegimeError):
        threshold.ThresholdParams.over(dt.date(2004, 6, 1), dt.date(2005, 6, 1))


def test_fifth_consecutive_qualifying_day_starts_the_spell() -> None:
    ds = days(20)
    got = spells({C: [ON] * 5 + [0] * 15})
    assert got.select("start", "end").row(0) == (ds[4], ds[8])  # ends on the 4th non-qualifying day
    assert got["days_on_list"][0] == 5


def test_four_days_are_not_enough() -> None:
    assert spells({C: [ON] * 4 + [0] * 10}).height == 0


def test_9999_shares_do_not_qualify_10000_do() -> None:
    big = {C: 1_000_000}  # 0.5% = 5,000: the share floor binds
    assert spells({C: [9_999] * 6 + [0] * 6}, big).height == 0
    assert spells({C: [10_000] * 6 + [0] * 6}, big).height == 1


def test_half_a_percent_of_shares_outstanding() -> None:
    tso = {C: 10_000_000}  # 0.5% = 50,000
    assert spells({C: [49_999] * 6 + [0] * 6}, tso).height == 0
    assert spells({C: [50_000] * 6 + [0] * 6}, tso).height == 1


def test_four_day_dip_keeps_it_listed_five_ends_it() -> None:
    ds = days(40)
    one = spells({C: [ON] * 6 + [0] * 4 + [ON] * 3 + [0] * 10})
    assert one.height == 1 and one.select("start", "end").row(0) == (ds[4], ds[12 + 4])
    two = spells({C: [ON] * 6 + [0] * 5 + [ON] * 5 + [0] * 10})
    assert two.select("start", "end").rows() == [(ds[4], ds[9]), (ds[15], ds[19])]


def test_still_listed_at_the_end_of_the_data_has_no_end() -> None:
    ds = days(30)
    got = spells({C: [ON] * 30})
    assert got.select("start", "end").row(0) == (ds[4], None)
    assert got["days_on_list"][0] == 26
    assert got["day_13"][0] == ds[4 + 12]
    almost = spells({C: [ON] * 10 + [0] * 4})  # four days without: not yet out
    assert almost["end"][0] is None


def test_day_13_counts_the_lists_date_as_day_one() -> None:
    ds = days(40)
    long = spells({C: [ON] * 17 + [0] * 10})  # on the list from ds[4] to ds[16 + 4]
    assert long["day_13"][0] == ds[16]
    short = spells({C: [ON] * 12 + [0] * 10})  # on the list ds[4]..ds[15]: 12 days
    assert short["days_on_list"][0] == 12 and short["day_13"][0] is None


def test_security_without_shares_outstanding_is_reported_unknown() -> None:
    r = threshold.compute(history({C: [ON] * 6, "00162Q452": [ON] * 6, "12345A109": [ON] * 3}), shares_table(TSO))
    assert r.spells["cusip"].to_list() == [C]
    assert r.unknown["cusip"].to_list() == ["00162Q452"]
    assert r.unknown_count == 1


def test_symbol_is_the_latest_seen_and_cusip_is_the_key() -> None:
    f = history({C: [ON] * 8}).with_columns(
        pl.when((pl.col("cusip") == C) & (pl.col("settlement_date") >= days(8)[5])).then(pl.lit("GMEX"))
        .otherwise(pl.col("symbol")).alias("symbol"))
    got = threshold.compute(f, shares_table(TSO)).spells
    assert got.select("cusip", "symbol").row(0) == (C, "GMEX")


def test_shares_by_symbol_and_point_in_time() -> None:
    d = days(12)
    f = history({C: [ON] * 12})
    by_symbol = pl.DataFrame({"key_kind": ["symbol", "symbol"], "key": ["S3646", "S3646"],
                              "date": [d[0], d[6]], "shares": [2_000_000, 100_000_000]})
    r = threshold.compute(f, by_symbol)
    # from d[6] the count is 100M: 20,000 is 0.02%; the run stops at d[5], the 4th day without is d[9]
    assert r.spells.select("start", "end").row(0) == (d[4], d[9])
    assert r.daily.filter(pl.col("cusip") == C)["qualifies"].to_list() == [True] * 6 + [False] * 6


def test_missing_days_neither_count_nor_break_a_run() -> None:
    f = history({C: [ON] * 10})
    ds = days(10)
    gap = f.filter(~pl.col("settlement_date").is_in([ds[3], ds[4]]))  # two days with no file at all
    got = threshold.compute(gap, shares_table(TSO)).spells
    assert got["start"][0] == ds[6]  # the 5th covered qualifying day


def test_chunks_in_date_order() -> None:
    f = history({C: [ON] * 10})
    comp = threshold.Computation(shares_table(TSO))
    comp.add(f.filter(pl.col("settlement_date") >= days(10)[5]))
    with pytest.raises(ValueError, match="date order"):
        comp.add(f)


@settings(max_examples=40, deadline=None)
@given(series=st.dictionaries(st.sampled_from(["AAAAAAAA1", "BBBBBBBB2", "CCCCCCCC3"]),
                              st.lists(st.sampled_from([0, 5_000, 20_000]), min_size=1, max_size=45),
                              min_size=1),
       cuts=st.lists(st.integers(1, 44), max_size=4))
def test_chunked_computation_equals_the_whole(series: dict[str, list[int]], cuts: list[int]) -> None:
    f = history(series)
    counts = {k: 2_000_000 for k in series}
    whole = threshold.compute(f, shares_table(counts))
    ds = sorted(f["settlement_date"].unique().to_list())
    bounds = sorted({c for c in cuts if c < len(ds)})
    comp = threshold.Computation(shares_table(counts))
    lo = 0
    for b in [*bounds, len(ds)]:
        comp.add(f.filter(pl.col("settlement_date").is_between(ds[lo], ds[b - 1])))
        lo = b
    chunked = comp.result()
    assert chunked.spells.equals(whole.spells)
    assert chunked.unknown.equals(whole.unknown)


def test_gme_on_the_list_through_the_squeeze(real_fails: pl.DataFrame, real_shares: pl.DataFrame) -> None:
    r = threshold.compute(real_fails, real_shares)
    gme = r.spells.filter(pl.col("cusip") == "36467W109")
    covering = gme.filter((pl.col("start") <= dt.date(2021, 1, 25)) & (pl.col("end") >= dt.date(2021, 1, 28)))
    assert covering.height == 1
    assert covering["symbol"][0] == "GME"
    assert threshold.on_list(r.spells, dt.date(2021, 1, 26))["cusip"].to_list().count("36467W109") == 1
    assert r.unknown_count > 0  # securities the snapshots do not cover are reported, not dropped


def test_hash_collisions_fall_back_to_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Securities are sorted, and symbols joined, on hashes; when hashes collide the text is used, same result."""
    series = {C: [ON] * 7 + [0] * 6 + [ON] * 5, "00162Q452": [ON] * 9, "12345A109": [ON] * 3 + [0] + [ON] * 6,
              "G0176J109": [0, ON, ON, ON, ON, ON, 0, 0, ON]}
    f = history(series)
    by_symbol = pl.DataFrame({"key_kind": ["symbol", "symbol"], "key": ["S3646", "S0016"], "date": [None, None],
                              "shares": [2_000_000, 2_000_000]}, schema=shares_table({}).schema)
    want = threshold.compute(f, by_symbol)
    assert want.spells.height >= 3 and want.unknown.height == 2
    monkeypatch.setattr(pl.Expr, "hash", lambda self, *a, **k: self.is_null().cast(pl.UInt64()))  # all collide
    got = threshold.compute(f, by_symbol)
    assert got.spells.equals(want.spells)
    assert got.unknown.equals(want.unknown)
    chunked = threshold.Computation(by_symbol)
    ds = sorted(f["settlement_date"].unique().to_list())
    chunked.add(f.filter(pl.col("settlement_date") < ds[8]))
    chunked.add(f.filter(pl.col("settlement_date") >= ds[8]))
    assert chunked.result().spells.equals(want.spells)


def test_halves_found_in_parallel_give_the_same_spells(monkeypatch: pytest.MonkeyPatch) -> None:
    series = {C: [ON] * 7 + [0] * 6 + [ON] * 5, "00162Q452": [ON] * 9, "12345A109": [ON] * 3 + [0] + [ON] * 6,
              "G0176J109": [0, ON, ON, ON, ON, ON, 0, 0, ON], "98986M103": [ON] * 18}
    f = history(series)
    counts = shares_table({C: 2_000_000, "98986M103": 2_000_000, "G0176J109": 2_000_000})
    want = threshold.compute(f, counts)
    monkeypatch.setattr(threshold, "_SPLIT", 1)  # every set of rows split in two
    ds = sorted(f["settlement_date"].unique().to_list())
    for cuts in ([], [6], [3, 9, 14]):
        comp = threshold.Computation(counts)
        for lo, hi in zip([0, *cuts], [*cuts, len(ds)], strict=True):
            comp.add(f.filter(pl.col("settlement_date").is_between(ds[lo], ds[hi - 1])))
        got = comp.result()
        assert got.spells.equals(want.spells) and got.unknown.equals(want.unknown)
    assert want.spells.height >= 3 and want.unknown.height >= 1
