"""The market monitor: an HTML report with charts and a CSV per table, from a threshold computation.

Charts are drawn with matplotlib (Agg backend) as SVG and placed inline in the HTML: the report is one file with no
JavaScript and nothing fetched when it is opened, so it renders offline, in a mail client or an archive, and prints
as drawn. Tables:

- ``spells.csv``: every threshold spell (cusip, symbol, start, end, days_on_list, day_13);
- ``persistent.csv``: the largest persistent fails, securities by days on the list, then peak fails;
- ``entries_exits.csv``: per covered settlement day, how many securities entered and left the list;
- ``unknown.csv``: securities with no shares-outstanding count whose fails reached 10,000 shares for five days.

Charts: for each of the most persistent securities, its fails over time with its threshold spells shaded and the
0.5%-of-shares-outstanding line; the largest persistent fails; entries and exits per day.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from regsho.marketdata.threshold import ThresholdResult


@dataclass(frozen=True, slots=True)
class MonitorOutput:
    html: Path
    csvs: tuple[Path, ...]


def persistent(result: ThresholdResult, top: int = 25) -> pl.DataFrame:
    """Securities by total days on the list, then by peak fails (with the peak as a share of TSO)."""
    if result.spells.height == 0:
        return pl.DataFrame(schema={"cusip": pl.String(), "symbol": pl.String(), "spells": pl.UInt32(),
                                    "days_on_list": pl.Int64(), "max_fails": pl.Int64(), "max_pct_tso": pl.Float64()})
    peak = result.daily.filter(pl.col("tso").is_not_null()).group_by("cusip").agg(
        pl.col("quantity").max().alias("max_fails"),
        (pl.col("quantity") / pl.col("tso") * 100).max().round(3).alias("max_pct_tso"))
    per = result.spells.group_by("cusip").agg(pl.col("symbol").last(), pl.len().alias("spells"),
                                              pl.col("days_on_list").sum())
    return per.join(peak, on="cusip", how="left").sort(["days_on_list", "max_fails"], descending=True).head(top)


def entries_exits(result: ThresholdResult) -> pl.DataFrame:
    """Per covered settlement day: entries (spells starting) and exits (the day after a spell's last day)."""
    days = pl.DataFrame({"date": result.days})
    ent = result.spells.group_by(pl.col("start").alias("date")).agg(pl.len().alias("entries"))
    nxt = pl.DataFrame({"end": result.days.head(-1), "date": result.days.tail(-1)}) if result.days.len() > 1 \
        else pl.DataFrame(schema={"end": pl.Date(), "date": pl.Date()})
    ex = result.spells.filter(pl.col("end").is_not_null()).join(nxt, on="end").group_by("date").agg(
        pl.len().alias("exits"))
    out = days.join(ent, on="date", how="left").join(ex, on="date", how="left").with_columns(
        pl.col("entries").fill_null(0).cast(pl.Int64()), pl.col("exits").fill_null(0).cast(pl.Int64()))
    listed = result.spells.select("start", "end")
    counts = out.join(listed, how="cross").filter(
        (pl.col("start") <= pl.col("date")) & (pl.col("end").is_null() | (pl.col("end") >= pl.col("date")))
    ).group_by("date").agg(pl.len().alias("on_list")) if listed.height else pl.DataFrame(
        schema={"date": pl.Date(), "on_list": pl.UInt32()})
    return out.join(counts, on="date", how="left").with_columns(
        pl.col("on_list").fill_null(0).cast(pl.Int64())).sort("date")


def _svg(fig: object) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")  # type: ignore[attr-defined]
    import matplotlib.pyplot as plt

    plt.close(fig)  # type: ignore[arg-type]
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _security_chart(result: ThresholdResult, cusip: str, fails: pl.DataFrame | None) -> str:
    import matplotlib.pyplot as plt

    rows = result.daily.filter(pl.col("cusip") == cusip).sort("settlement_date")
    if fails is not None:  # every day's balance, not only the days of 10,000 shares or more
        tso_by_day = rows.select("settlement_date", "tso")
        rows = fails.filter(pl.col("cusip") == cusip).select("settlement_date", "symbol", "quantity").join(
            tso_by_day, on="settlement_date", how="left")
    grid = pl.DataFrame({"settlement_date": result.days}).join(
        rows.select("settlement_date", "quantity", "tso"), on="settlement_date", how="left").with_columns(
        pl.col("quantity").fill_null(0), pl.col("tso").forward_fill().backward_fill())
    symbol = rows["symbol"].drop_nulls().tail(1).to_list() or [cusip]
    fig, ax = plt.subplots(figsize=(9, 2.6))
    ax.plot(grid["settlement_date"].to_list(), grid["quantity"].to_list(), lw=1.2, color="#1f4e79",
            label="fails to deliver (shares)")
    tso = grid["tso"]
    if tso.null_count() < tso.len():
        line = (tso * result.params.min_fraction).to_list()
        ax.plot(grid["settlement_date"].to_list(), line, lw=1, ls="--", color="#b03a2e",
                label=f"{result.params.min_fraction:.1%} of shares outstanding")
    for s in result.spells.filter(pl.col("cusip") == cusip).iter_rows(named=True):
        end = s["end"] or result.days[-1]
        ax.axvspan(s["start"], end + dt.timedelta(days=1), color="#f5b041", alpha=0.3, lw=0)
    ax.set_title(f"{symbol[0]} ({cusip}): fails, threshold spells shaded", fontsize=10, loc="left")
    ax.legend(fontsize=8, loc="upper left")
    ax.tick_params(labelsize=8)
    ax.ticklabel_format(axis="y", style="plain")
    fig.autofmt_xdate()
    return _svg(fig)


def _bar_chart(per: pl.DataFrame) -> str:
    import matplotlib.pyplot as plt

    top = per.head(15)
    fig, ax = plt.subplots(figsize=(9, 3.2))
    labels = [str(s or c) for s, c in zip(top["symbol"].to_list(), top["cusip"].to_list(), strict=True)]
    ax.barh(labels[::-1], top["days_on_list"].to_list()[::-1], color="#1f4e79")
    ax.set_xlabel("settlement days on the threshold list", fontsize=9)
    ax.set_title("Largest persistent fails", fontsize=10, loc="left")
    ax.tick_params(labelsize=8)
    return _svg(fig)


def _flow_chart(flow: pl.DataFrame) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 2.6))
    dates = flow["date"].to_list()
    ax.bar(dates, flow["entries"].to_list(), color="#1e8449", label="entries")
    ax.bar(dates, [-x for x in flow["exits"].to_list()], color="#b03a2e", label="exits")
    ax2 = ax.twinx()
    ax2.plot(dates, flow["on_list"].to_list(), color="#566573", lw=1, label="on the list")
    ax.set_title("Entries and exits per settlement day (line: securities on the list)", fontsize=10, loc="left")
    ax.legend(fontsize=8, loc="upper left")
    ax.tick_params(labelsize=8)
    ax2.tick_params(labelsize=8)
    fig.autofmt_xdate()
    return _svg(fig)


def _table(df: pl.DataFrame, limit: int = 40) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
                   for row in df.head(limit).iter_rows())
    more = f"<p class=more>{df.height - limit} more rows in the CSV file.</p>" if df.height > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#1c2833}
table{border-collapse:collapse;font-size:12px;margin:.5em 0 1.5em}th,td{border:1px solid #d5d8dc;padding:2px 6px}
th{background:#eaecee;text-align:left}h2{margin-top:1.6em}.more,.note{color:#566573;font-size:12px}
svg{max-width:100%;height:auto}"""


def write(result: ThresholdResult, out: str | Path, fails: pl.DataFrame | None = None, charts: int = 6,
          shares_note: str = "") -> MonitorOutput:
    """Write ``index.html`` and the CSV files to ``out`` (``fails``: the full fails table, for the charts)."""
    import matplotlib

    matplotlib.use("Agg")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    per = persistent(result)
    flow = entries_exits(result)
    tables = {"spells": result.spells, "persistent": per, "entries_exits": flow, "unknown": result.unknown}
    written = []
    for name, df in tables.items():
        path = folder / f"{name}.csv"
        df.write_csv(path, date_format="%Y-%m-%d")
        written.append(path)
    p = result.params
    span = f"{result.days[0]} to {result.days[-1]}" if result.days.len() else "no data"
    parts = [
        "<!doctype html><html><head><meta charset=utf-8><title>Threshold securities monitor</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Threshold securities monitor</h1>",
        f"<p>Settlement days {html.escape(span)} ({result.days.len()} covered). A security qualifies on a day when "
        f"its aggregate fails are at least {p.min_shares:,} shares and {p.min_fraction:.1%} of its shares "
        f"outstanding; it is listed from its {p.days}th consecutive qualifying day until it has not qualified for "
        f"{p.days} consecutive days ({html.escape('; '.join(p.cites[:2]))}). A list dated D governs trading from the "
        "next trading day.</p>",
        f"<p class=note>{len(result.spells)} spells; {result.unknown_count} securities with no count of shares "
        f"outstanding could not be judged (unknown.csv). {html.escape(shares_note)}</p>",
        "<h2>Most persistent threshold securities</h2>",
    ]
    for cusip in per["cusip"].head(charts).to_list():
        parts.append(_security_chart(result, cusip, fails))
    if per.height:
        parts += ["<h2>Largest persistent fails</h2>", _bar_chart(per), _table(per)]
    parts += ["<h2>Entries and exits</h2>", _flow_chart(flow) if flow.height else "",
              _table(flow.filter((pl.col("entries") > 0) | (pl.col("exits") > 0)))]
    parts += ["<h2>Threshold spells</h2>", _table(result.spells, 60),
              "<h2>Securities with unknown shares outstanding</h2>", _table(result.unknown, 30),
              "</body></html>"]
    page = folder / "index.html"
    page.write_text("\n".join(parts), encoding="utf-8")
    return MonitorOutput(page, tuple(written))
