"""Charts for the dashboard, drawn on the server with matplotlib as SVG and placed inline in the page.

No JavaScript charting library is shipped or fetched: the page renders offline and at any width (the SVG scales
with its container), text stays text (``svg.fonttype: none``), and the charts print as drawn. The object-oriented
API (``Figure`` without ``pyplot``) keeps drawing safe in the server's worker threads.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
from collections.abc import Sequence

from matplotlib import rcParams
from matplotlib.axes import Axes
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure

from regsho.calendars import ET

rcParams["svg.fonttype"] = "none"
rcParams["svg.hashsalt"] = "regsho"

BLUE, GREEN, RED, GREY, AMBER = "#1f4e79", "#1e8449", "#b03a2e", "#566573", "#d68910"
_ids = itertools.count()


def _svg(fig: Figure, label: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)  # the drawing tool and time, not the data
    # ids unique within the page (several charts share one document)
    n = next(_ids)
    text = text.replace('id="', f'id="c{n}-').replace("url(#", f"url(#c{n}-").replace('href="#', f'href="#c{n}-')
    return text.replace("<svg ", f'<svg role="img" aria-label="{_attr(label)}" class="chart" ', 1)


def _attr(s: str) -> str:
    return s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _fig(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    return fig


def bars(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float], str]], title: str,
         xlabel: str = "") -> str:
    """Horizontal bars, one group per label, one bar per series (name, values, colour)."""
    n = max(1, len(labels))
    fig = _fig(7, 0.9 + 0.32 * n * max(1, len(series)) ** 0.5)
    ax = fig.add_subplot()
    h = 0.8 / max(1, len(series))
    for i, (name, values, colour) in enumerate(series):
        ys = [j + i * h for j in range(len(labels))]
        ax.barh(ys, list(values), height=h, color=colour, label=name)
    ax.set_yticks([j + h * (len(series) - 1) / 2 for j in range(len(labels))], list(labels), fontsize=8)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=10, loc="left")
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    if len(series) > 1:
        ax.legend(fontsize=8, loc="lower right")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _svg(fig, title)


def steps(series: Sequence[tuple[str, Sequence[tuple[dt.datetime, int]], str]], title: str) -> str:
    """Step lines over time (e.g. the number of symbols on each list as each list arrived)."""
    fig = _fig(7, 2.4)
    ax = fig.add_subplot()
    for name, points, colour in series:
        if points:
            xs = [et_naive(t) for t, _ in points]
            ax.step(xs, [v for _, v in points], where="post", color=colour, label=name, lw=1.4)
            ax.plot(xs, [v for _, v in points], "o", color=colour, ms=3)
    ax.set_title(title, fontsize=10, loc="left")
    _dates(ax, "%m-%d")
    ax.tick_params(labelsize=8)
    if len(series) > 1:
        ax.legend(fontsize=8, loc="best")
    ax.set_ylim(bottom=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _svg(fig, title)


_EPOCH = dt.datetime(1970, 1, 1)  # matplotlib's date epoch: dates are days since it, as floats


def et_naive(t: dt.datetime) -> float:
    """A time as matplotlib's date number, on the New York wall clock (the axis reads in ET)."""
    return (t.astimezone(ET).replace(tzinfo=None) - _EPOCH) / dt.timedelta(days=1)


def _dates(ax: Axes, fmt: str) -> None:
    ax.xaxis.set_major_formatter(DateFormatter(fmt))  # type: ignore[no-untyped-call]


def timeline(rows: Sequence[tuple[str, dt.datetime, dt.datetime | None, str]], title: str,
             now: dt.datetime, marks: Sequence[tuple[str, dt.datetime, str]] = ()) -> str:
    """Bars from start to end per labelled row (an open end runs to ``now``), a line at ``now`` and optional
    marks (row label, time, colour), e.g. short sales inside surveillance windows."""
    labels = list(dict.fromkeys(r[0] for r in rows))
    fig = _fig(7, 0.9 + 0.38 * max(1, len(labels)))
    ax = fig.add_subplot()
    for label, start, end, colour in rows:
        y = labels.index(label)
        a, b = et_naive(start), et_naive(end or max(now, start))
        ax.barh(y, b - a, left=a, height=0.55, color=colour, edgecolor="white", linewidth=0.5)
    for label, t, colour in marks:
        if label in labels:
            ax.plot([et_naive(t)], [labels.index(label)], marker="v", color=colour, ms=7, ls="none")
    ax.axvline(et_naive(now), color=GREY, lw=1, ls="--")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=10, loc="left")
    _dates(ax, "%m-%d %H:%M")
    ax.tick_params(axis="x", labelsize=7)
    fig.autofmt_xdate()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _svg(fig, title)
