"""The HTML review page: for each flagged (day, symbol, mm_id), the verdicts and findings in words and a chart of
the firm's quotes against the inside through the day with the quotation band drawn.

Charts are matplotlib SVG inlined in the page: one self-contained static file with no JavaScript, that opens
offline in any browser, prints, and can be kept as a record (Plotly's inlined JavaScript would add megabytes to
every page).
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from regsho.surveillance.day import DayFrame
from regsho.surveillance.findings import PATTERNS, Review, Verdict
from regsho.surveillance.metrics import Metrics, iso

_GRID_NS = 20 * 1_000_000_000


def _asof(t: npt.NDArray[np.int64], at: npt.NDArray[np.int64], v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    if at.size == 0:
        return np.full(t.size, np.nan)
    i = np.searchsorted(at, t, side="right") - 1
    return np.where(i >= 0, v[np.clip(i, 0, None)], np.nan)


def chart_svg(f: DayFrame, quotes: pl.DataFrame, nbbo: pl.DataFrame, tier1: bool,
              flagged: Sequence[tuple[int, int]], title: str) -> str:
    """An SVG chart of one firm's quotes in one symbol against the NBBO and the band (Defined Limit)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.arange(f.open, f.close, _GRID_NS, dtype=np.int64)
    q = quotes.sort("ts", maintain_order=True)
    n = nbbo.sort("ts", maintain_order=True)
    qt = np.maximum(q.get_column("ts").to_numpy(), f.open)
    nt = np.maximum(n.get_column("ts").to_numpy(), f.open)
    bid = _asof(grid, qt, q.get_column("bid").fill_null(np.nan).to_numpy().astype(float))
    ask = _asof(grid, qt, q.get_column("ask").fill_null(np.nan).to_numpy().astype(float))
    nbb = _asof(grid, nt, n.get_column("bid").fill_null(np.nan).to_numpy().astype(float))
    nbo = _asof(grid, nt, n.get_column("ask").fill_null(np.nan).to_numpy().astype(float))
    dlb = np.array([f.band(tier1, float(r), int(t))[1] if r == r else np.nan for t, r in zip(grid, nbb, strict=True)])
    dla = np.array([f.band(tier1, float(r), int(t))[1] if r == r else np.nan for t, r in zip(grid, nbo, strict=True)])
    hours = (grid - f.open) / 3.6e12
    fig, ax = plt.subplots(figsize=(10, 3.6), dpi=80)
    for a, b in flagged:
        ax.axvspan((a - f.open) / 3.6e12, (b - f.open) / 3.6e12, color="#f6c6c6", alpha=0.6, lw=0)
    ax.fill_between(hours, nbb * (1 - dlb), nbo * (1 + dla), step="post", color="#e8eef8", label="band (Defined Limit)")
    ax.step(hours, nbb * (1 - dlb), where="post", color="#7f9cc9", lw=0.8)
    ax.step(hours, nbo * (1 + dla), where="post", color="#7f9cc9", lw=0.8)
    ax.step(hours, nbb, where="post", color="#2c7a2c", lw=0.9, label="NBB")
    ax.step(hours, nbo, where="post", color="#b03030", lw=0.9, label="NBO")
    ax.step(hours, bid, where="post", color="#1f4fd1", lw=1.4, label="firm bid")
    ax.step(hours, ask, where="post", color="#e07b00", lw=1.4, label="firm ask")
    ticks = np.arange(0, (f.close - f.open) / 3.6e12 + 1e-9, 0.5)
    ax.set_xticks(ticks)
    ax.set_xticklabels([iso(f.open + int(x * 3.6e12))[11:16] for x in ticks], fontsize=7, rotation=0)
    ax.set_xlim(0, (f.close - f.open) / 3.6e12)
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=7, loc="upper left", ncols=6, frameon=False)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


_CSS = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}th{background:#f3f3f3}.bad{color:#a00;font-weight:600}
.ok{color:#070}section{margin:2em 0;border-top:2px solid #ddd;padding-top:1em}code{font-size:12px}"""


def page(m: Metrics, rv: Review, quotes: pl.DataFrame, nbbo: pl.DataFrame, tiers: dict[str, int]) -> str:
    """The whole review page as HTML text."""
    frames = {f.day: f for f in m.frames}
    days = [v for v in rv.verdicts if v.scope == "day"]
    flagged_pairs = {(v.date, v.symbol, v.mm_id) for v in rv.verdicts if not v.bona_fide}
    rows = []
    for v in days:
        cls = "ok" if v.bona_fide else "bad"
        rows.append(f"<tr><td>{v.date}</td><td>{html.escape(v.symbol)}</td><td>{html.escape(v.mm_id)}</td>"
                    f"<td class='{cls}'>{'bona fide' if v.bona_fide else 'NOT bona fide'}</td>"
                    f"<td>{html.escape(' '.join(v.codes))}</td></tr>")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Bona fide market-making review</title>"
             f"<style>{_CSS}</style></head><body><h1>Bona fide market-making review</h1>"
             "<p>17 CFR 242.203(b)(2)(iii): a market maker may sell short without a locate only while engaged in "
             "bona fide market making in the security at the time of the sale. Patterns from the FINRA 2023 and 2024 "
             "Annual Regulatory Oversight Reports; bands of FINRA Rule 6272(a)(2) and Nasdaq Rule 4613(a)(2).</p>",
             "<table><tr><th>date</th><th>symbol</th><th>mm_id</th><th>day verdict</th><th>findings</th></tr>",
             *rows, "</table>"]
    for d, sym, mm in sorted(flagged_pairs):
        f = frames[d]
        vs = [v for v in rv.verdicts if (v.date, v.symbol, v.mm_id) == (d, sym, mm)]
        day_v = next(v for v in vs if v.scope == "day")
        bad_windows = [(v.start, v.end) for v in vs if v.scope == "window" and not v.bona_fide]
        q = quotes.filter((pl.col("symbol") == sym) & (pl.col("mm_id") == mm) & (pl.col("day") == d))
        n = nbbo.filter((pl.col("symbol") == sym) & (pl.col("ts") < f.close))
        svg = chart_svg(f, q, n, tiers.get(sym, 1) == 1, bad_windows, f"{mm} in {sym} on {d}")
        parts.append(f"<section><h2>{html.escape(mm)} in {html.escape(sym)} on {d}</h2>"
                     f"<p class='{'ok' if day_v.bona_fide else 'bad'}'>{html.escape(day_v.reasons)}</p>{svg}")
        parts.append(_findings_table(rv, d, sym, mm))
        parts.append(_windows_table(vs))
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _findings_table(rv: Review, d: object, sym: str, mm: str) -> str:
    fs = [f for f in rv.findings if (f.date, f.symbol, f.mm_id) == (d, sym, mm)]
    if not fs:
        return ""
    rows = "".join(
        f"<tr><td>{f.scope}</td><td>{iso(f.start)[11:16]}-{iso(f.end)[11:16]}</td><td><code>{f.code}</code></td>"
        f"<td>{html.escape(PATTERNS[f.code].meaning)}</td><td>{html.escape(f.evidence)}</td>"
        f"<td>{html.escape('; '.join(f.cites))}</td></tr>" for f in fs)
    return ("<h3>Findings</h3><table><tr><th>scope</th><th>window</th><th>code</th><th>pattern</th>"
            f"<th>evidence</th><th>cites</th></tr>{rows}</table>")


def _windows_table(vs: Sequence[Verdict]) -> str:
    rows = "".join(
        f"<tr><td>{iso(v.start)[11:16]}-{iso(v.end)[11:16]}</td>"
        f"<td class='{'ok' if v.bona_fide else 'bad'}'>{'bona fide' if v.bona_fide else 'not bona fide'}</td>"
        f"<td>{html.escape(' '.join(v.codes))}</td></tr>" for v in vs if v.scope == "window")
    return f"<h3>Windows</h3><table><tr><th>window</th><th>verdict</th><th>findings</th></tr>{rows}</table>"
