"""The time-weighted quote metrics, written once as portable SQL over a ``pieces`` relation and run unchanged by
every engine (Polars SQL, DuckDB, Spark SQL).

A piece is a stretch of regular trading hours of one (symbol, mm_id) over which nothing changes: the firm's quote,
the NBBO, whether it holds a customer order, the verdict window and the band regime. Its columns: ``symbol, mm_id,
w`` (window index), ``t`` and ``dur`` (start and length, ns), ``edge`` (inside the wider Tier 1 band of the open
and close), ``tier1``, ``bid, ask, displayed, firm`` (the quote in force; an empty side is NULL), ``nbb, nbo`` and
``hold``. Sums of ``dur`` are exact (nanoseconds, below 2^53 in a double).

FINRA Rule 6272(a)(2) and Nasdaq Rule 4613(a)(2) measure a bid against the national best bid and an offer against
the national best offer; the distance is a fraction of that reference price (``xb``, ``xa``) and of the
Designated Percentage (``fb``, ``fa``: 1.0 is the band edge a peg order sits on).
"""

from __future__ import annotations

from regsho.surveillance.day import DayFrame

#: Sum columns produced per (symbol, mm_id, w); every one is additive over windows and days.
SUMS: tuple[str, ...] = (
    "t_total", "t_bid", "t_ask", "t_two", "t_quoted",
    "t_bid_ref", "t_ask_ref", "t_bid_inside", "t_ask_inside", "t_bid_band", "t_ask_band",
    "t_bid_edge", "t_ask_edge", "t_bid_near", "t_ask_near", "w_bid_x", "w_ask_x", "w_bid_f", "w_ask_f",
    "t_near2", "t_hold", "t_near2_hold", "t_displayed", "t_firm",
)


def _num(x: float) -> str:
    return repr(float(x))


def metric_ctes(f: DayFrame, src: str = "pieces", group: str = "symbol, mm_id, w") -> str:
    """The CTEs ``mp`` and ``mq`` deriving each piece's band and distances (no leading WITH)."""

    def band(ref: str, sub_val: str, other: str, e_val: str, m_val: str) -> str:
        return (f"CASE WHEN tier1 THEN (CASE WHEN edge THEN {e_val} ELSE {m_val} END) "
                f"WHEN {ref} < {_num(f.sub_dollar)} THEN {sub_val} ELSE {other} END")

    dpb = band("nbb", _num(f.dp2s), _num(f.dp2), _num(f.dp1e), _num(f.dp1))
    dlb = band("nbb", _num(f.dl2s), _num(f.dl2), _num(f.dl1e), _num(f.dl1))
    dpa = band("nbo", _num(f.dp2s), _num(f.dp2), _num(f.dp1e), _num(f.dp1))
    dla = band("nbo", _num(f.dl2s), _num(f.dl2), _num(f.dl1e), _num(f.dl1))
    return f"""mp AS (
  SELECT {group}, CAST(dur AS DOUBLE) AS d, bid, ask, displayed, firm, hold,
    {dpb} AS dpb, {dlb} AS dlb, {dpa} AS dpa, {dla} AS dla,
    (nbb - bid) / nbb AS xb, (ask - nbo) / nbo AS xa
  FROM {src}
), mq AS (
  SELECT {group}, d, bid, ask, displayed, firm, hold, dlb, dla, xb, xa,
    xb / dpb AS fb, xa / dpa AS fa
  FROM mp
)"""


def metric_select(f: DayFrame, group: str = "symbol, mm_id, w") -> str:
    near, edge = _num(f.near), _num(f.edge)

    def t(cond: str) -> str:
        return f"SUM(CASE WHEN {cond} THEN d ELSE 0.0 END)"

    def wsum(cond: str, x: str) -> str:
        return f"SUM(CASE WHEN {cond} THEN d * {x} ELSE 0.0 END)"

    quoted = "(bid IS NOT NULL OR ask IS NOT NULL)"
    near2 = f"fb <= {near} AND fa <= {near}"
    cols = {
        "t_total": "SUM(d)",
        "t_bid": t("bid IS NOT NULL"), "t_ask": t("ask IS NOT NULL"),
        "t_two": t("bid IS NOT NULL AND ask IS NOT NULL"), "t_quoted": t(quoted),
        "t_bid_ref": t("xb IS NOT NULL"), "t_ask_ref": t("xa IS NOT NULL"),
        "t_bid_inside": t("xb <= 0.0"), "t_ask_inside": t("xa <= 0.0"),
        "t_bid_band": t("xb <= dlb"), "t_ask_band": t("xa <= dla"),
        "t_bid_edge": t(f"fb >= {edge}"), "t_ask_edge": t(f"fa >= {edge}"),
        "t_bid_near": t(f"fb <= {near}"), "t_ask_near": t(f"fa <= {near}"),
        "w_bid_x": wsum("xb IS NOT NULL", "xb"), "w_ask_x": wsum("xa IS NOT NULL", "xa"),
        "w_bid_f": wsum("xb IS NOT NULL", "fb"), "w_ask_f": wsum("xa IS NOT NULL", "fa"),
        "t_near2": t(near2), "t_hold": t("hold"), "t_near2_hold": t(f"hold AND {near2}"),
        "t_displayed": t(f"{quoted} AND displayed"), "t_firm": t(f"{quoted} AND firm"),
    }
    assert tuple(cols) == SUMS
    body = ",\n  ".join(f"{expr} AS {name}" for name, expr in cols.items())
    return f"SELECT {group},\n  {body}\nFROM mq GROUP BY {group}"


def metrics_query(f: DayFrame, src: str = "pieces", group: str = "symbol, mm_id, w") -> str:
    """The whole aggregation over a registered ``pieces`` relation, grouped by ``group`` (the pair and the window,
    or one column packing both)."""
    return "WITH " + metric_ctes(f, src, group) + "\n" + metric_select(f, group)
