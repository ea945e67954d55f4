"""The dashboard's routes: server-rendered pages under ``/dashboard``, behind the roles of ``regsho.app.access``.

``create_router(source, authenticate)`` returns a FastAPI router that the live service mounts and ``regsho
dashboard`` serves alone. ``authenticate(request)`` names the principal behind a request (the ``regsho_key``
cookie the login form sets, or whatever else the caller accepts) or None; a page asks
``allowed(principal.role, group)`` for its page group and nothing else decides access.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from regsho.app.access import Principal, allowed
from regsho.app.views import BookSource, BookView
from regsho.web import charts
from regsho.web import data as wd

PREFIX = "/dashboard"
COOKIE = "regsho_key"
#: how long the login cookie lasts (a working day); logging out clears it at once
COOKIE_MAX_AGE = 10 * 3600
KEY_PATTERN = re.compile(r"[A-Za-z0-9._~+/=-]{1,512}")
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".svg": "image/svg+xml"}
#: no inline script and nothing from elsewhere; inline styles only for the server-drawn SVG charts
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@dataclass(frozen=True, slots=True)
class PageDef:
    slug: str
    title: str
    group: str


#: every page, in the order of the menu, with the page group of ``regsho.app.access.PERMISSIONS`` it needs
PAGES: tuple[PageDef, ...] = (
    PageDef("", "Overview", "pages.desk"),
    PageDef("threshold", "Threshold lists", "pages.desk"),
    PageDef("locates", "Locates", "pages.desk"),
    PageDef("monitor", "Market monitor", "pages.desk"),
    PageDef("closeouts", "Close-outs", "pages.operations"),
    PageDef("penalty-box", "Penalty box", "pages.compliance"),
    PageDef("market-making", "Market making", "pages.compliance"),
    PageDef("decisions", "Decisions", "pages.compliance"),
    PageDef("surveillance", "Surveillance", "pages.compliance"),
)
_BY_SLUG = {p.slug: p for p in PAGES}


def _env() -> Environment:
    env = Environment(loader=PackageLoader("regsho.web", "templates"), autoescape=select_autoescape(["j2", "html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=wd.when, plain=wd.plain, span=wd.span, num=lambda n: f"{n:,}" if n is not None else "",
                       t=lambda v: Markup('<span class="t">%s</span>') % wd.when(v))
    return env


def _static() -> dict[str, tuple[bytes, str]]:
    out = {}
    for f in resources.files("regsho.web").joinpath("static").iterdir():
        suffix = "." + f.name.rsplit(".", 1)[-1]
        if suffix in _STATIC_TYPES:
            out[f.name] = (f.read_bytes(), _STATIC_TYPES[suffix])
    return out


def _safe_next(target: str | None) -> str:
    """Only a path of the dashboard itself (never another site) is followed after logging in."""
    if target and target.startswith(PREFIX) and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX


def create_router(source: BookSource, authenticate: Callable[[Request], Principal | None]) -> APIRouter:
    """The dashboard's pages under ``/dashboard``, its static files under ``/dashboard/static`` and its login."""
    router = APIRouter()
    env = _env()
    static = _static()

    def render(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        html = env.get_template(name).render(prefix=PREFIX, **ctx)
        return HTMLResponse(html, status_code=status, headers={
            "Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store"})

    def menu(principal: Principal) -> list[PageDef]:
        return [p for p in PAGES if allowed(principal.role, p.group)]

    def gate(request: Request, group: str) -> Principal | Response:
        principal = authenticate(request)
        if principal is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='')}", status_code=303)
        if not allowed(principal.role, group):
            return render("error.html.j2", 403, title="Not allowed", principal=principal, pages=menu(principal),
                          message=f"The {principal.role.value} role may not open this page "
                                  f"(it needs the {group} page group).")
        return principal

    def load(principal: Principal, book: str | None) -> tuple[BookView | None, list[str], Response | None]:
        try:
            books = source.books()
        except Exception as e:  # the store refused to read (e.g. a broken chain): say so, never a traceback
            return None, [], render("error.html.j2", 503, title="The books cannot be read", principal=principal,
                                    pages=menu(principal), message=str(e))
        if not books:
            return None, books, render("error.html.j2", 200, title="No books yet", principal=principal,
                                       pages=menu(principal), message="There are no books to show: import a "
                                       "scenario or start the service with a book.")
        name = book or books[0]
        if name not in books:
            return None, books, render("error.html.j2", 404, title="No such book", principal=principal,
                                       pages=menu(principal), message=f"There is no book {name!r}. Books: "
                                       + ", ".join(books))
        try:
            return source.view(name), books, None
        except Exception as e:
            return None, books, render("error.html.j2", 503, title="The book cannot be read", principal=principal,
                                       pages=menu(principal), message=str(e))

    def page(request: Request, slug: str, template: str, build: Callable[[BookView, wd.Moment], dict[str, Any]],
             book: str | None = None) -> Response:
        p = _BY_SLUG[slug]
        got = gate(request, p.group)
        if isinstance(got, Response):
            return got
        view, books, failed = load(got, book or request.query_params.get("book"))
        if failed is not None:
            return failed
        assert view is not None
        override = None
        raw = request.query_params.get("as_of", "").strip()
        note = ""
        if raw:
            try:
                override = wd.parse_as_of(raw)
            except ValueError:
                note = f"{raw!r} is not a time (YYYY-MM-DD or YYYY-MM-DDTHH:MM, ET); shown as of the default"
        moment = wd.as_of(view, override)
        qs = urlencode({"book": view.name, **({"as_of": raw} if override is not None else {})})
        ctx = build(view, moment)
        status = int(ctx.pop("_status", 200))
        return render(template, status, title=p.title, slug=slug, principal=got, pages=menu(got), books=books,
                      view=view, moment=moment, qs=qs, note=note, as_of_raw=raw if override is not None else "",
                      last_event=view.engine.last if view.engine is not None else None,
                      can=lambda s: allowed(got.role, _BY_SLUG[s].group), **ctx)

    # -- login -----------------------------------------------------------------------------------------------------

    @router.get(PREFIX + "/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = "") -> Response:
        return render("login.html.j2", title="Log in", principal=None, pages=(), next=_safe_next(next), error="")

    @router.post(PREFIX + "/login", response_class=HTMLResponse, include_in_schema=False)
    def login(request: Request, key: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "") -> Response:
        # a plain function: FastAPI runs it in a worker thread, so an ``authenticate`` that reads a database does
        # not hold up other requests
        key = key.strip()
        target = _safe_next(next)
        principal = authenticate(_with_key(request, key)) if KEY_PATTERN.fullmatch(key) else None
        if principal is None:
            return render("login.html.j2", 401, title="Log in", principal=None, pages=(), next=target,
                          error="That key is not recognised.")
        resp = RedirectResponse(target, status_code=303)
        resp.set_cookie(COOKIE, key, max_age=COOKIE_MAX_AGE, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
        return resp

    @router.post(PREFIX + "/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        resp = RedirectResponse(f"{PREFIX}/login", status_code=303)
        resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return resp

    @router.get(PREFIX + "/static/{name}", include_in_schema=False)
    def static_file(name: str) -> Response:
        hit = static.get(name)
        if hit is None:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(hit[0], media_type=hit[1], headers={"Cache-Control": "public, max-age=3600",
                                                            "X-Content-Type-Options": "nosniff"})

    # -- pages -----------------------------------------------------------------------------------------------------

    @router.get(PREFIX, response_class=HTMLResponse, include_in_schema=False)
    def overview(request: Request) -> Response:
        def build(v: BookView, m: wd.Moment) -> dict[str, Any]:
            o = wd.overview(v, m)
            chart = charts.bars([r[0] for r in o.by_reason[:12]],
                                [("accepted", [r[1] for r in o.by_reason[:12]], charts.GREEN),
                                 ("rejected", [r[2] for r in o.by_reason[:12]], charts.RED)],
                                "Decisions by first reason", "orders") if o.by_reason else ""
            days = o.by_day[-31:]
            daily = charts.bars([d.strftime("%a %m-%d") for d, _, _ in days],
                                [("accepted", [a for _, a, _ in days], charts.GREEN),
                                 ("rejected", [r for _, _, r in days], charts.RED)],
                                "Decisions per day", "orders") if len(days) > 1 else ""
            return {"o": o, "chart": Markup(chart), "daily": Markup(daily)}
        return page(request, "", "overview.html.j2", build)

    @router.get(PREFIX + "/threshold", response_class=HTMLResponse, include_in_schema=False)
    def threshold(request: Request) -> Response:
        def build(v: BookView, m: wd.Moment) -> dict[str, Any]:
            t = wd.threshold(v, m)
            chart = charts.steps([("symbols on the list", t.sizes, charts.BLUE)],
                                 "Threshold list size, list by list") if len(t.sizes) > 1 else ""
            wchart = charts.bars([w.symbol for w in t.watch],
                                 [("days counted", [w.days for w in t.watch], charts.AMBER),
                                  ("days left", [w.days_left for w in t.watch], charts.GREY)],
                                 "203(b)(3): consecutive settlement days failing in a threshold security",
                                 "settlement days") if t.watch else ""
            return {"t": t, "chart": Markup(chart), "wchart": Markup(wchart)}
        return page(request, "threshold", "threshold.html.j2", build)

    @router.get(PREFIX + "/penalty-box", response_class=HTMLResponse, include_in_schema=False)
    def penalty_box(request: Request) -> Response:
        def build(v: BookView, m: wd.Moment) -> dict[str, Any]:
            pb = wd.penalty_box(v, m)
            rows = [(f"{r.period.bd} {r.period.symbol}", r.period.start, r.period.until,
                     charts.RED if r.in_force else charts.AMBER) for r in pb.rows]
            rows += [(f"{r.bd} {r.symbol} (notice received)", r.start, r.until, charts.GREY) for r in pb.received]
            chart = charts.timeline(rows, "Pre-borrow periods", m.at) if rows else ""
            return {"pb": pb, "chart": Markup(chart)}
        return page(request, "penalty-box", "penalty_box.html.j2", build)

    @router.get(PREFIX + "/closeouts", response_class=HTMLResponse, include_in_schema=False)
    def closeouts(request: Request) -> Response:
        return page(request, "closeouts", "closeouts.html.j2", lambda v, m: {"c": wd.closeouts(v, m)})

    @router.get(PREFIX + "/locates", response_class=HTMLResponse, include_in_schema=False)
    def locates(request: Request) -> Response:
        def build(v: BookView, m: wd.Moment) -> dict[str, Any]:
            lo = wd.locates(v, m)
            chart = charts.bars([u.key for u in lo.by_source],
                                [("granted", [u.qty for u in lo.by_source], charts.BLUE),
                                 ("consumed by short sales", [u.consumed for u in lo.by_source], charts.AMBER),
                                 ("reused (FAQ 4.4)", [u.reused for u in lo.by_source], charts.GREEN),
                                 ("returned to the locate desk", [u.released for u in lo.by_source], charts.GREY)],
                                "Locates by source", "shares") if lo.by_source else ""
            return {"lo": lo, "chart": Markup(chart)}
        return page(request, "locates", "locates.html.j2", build)

    @router.get(PREFIX + "/market-making", response_class=HTMLResponse, include_in_schema=False)
    def market_making(request: Request) -> Response:
        def build(v: BookView, m: wd.Moment) -> dict[str, Any]:
            sales = wd.mm_sales(v)
            tally = wd.mm_tally(sales)
            chart = charts.bars([t.account for t in tally],
                                [("accepted", [t.accepted for t in tally], charts.GREEN),
                                 ("rejected", [t.rejected for t in tally], charts.RED)],
                                "Short sales relying on the exception", "orders") if tally else ""
            return {"sales": sales, "tally": tally, "chart": Markup(chart)}
        return page(request, "market-making", "market_making.html.j2", build)

    @router.get(PREFIX + "/surveillance", response_class=HTMLResponse, include_in_schema=False)
    def surveillance(request: Request) -> Response:
        def build(v: BookView, m: wd.Moment) -> dict[str, Any]:
            s = wd.surveillance(v)
            day = max((wd.et(r.start).date() for r in s.verdicts if r.start <= m.at), default=None)
            on_day = [r for r in s.verdicts if wd.et(r.start).date() == day]
            bad = Counter(f"{r.account} {r.symbol}" for r in on_day if not r.bona_fide)
            pairs = sorted({f"{r.account} {r.symbol}" for r in on_day}, key=lambda k: (-bad[k], k))[:15]
            rows = [(f"{r.account} {r.symbol}", r.start, r.end, charts.GREEN if r.bona_fide else charts.RED)
                    for r in on_day if f"{r.account} {r.symbol}" in pairs]
            marks = [(f"{x.d.account} {x.d.symbol}", x.d.at, charts.BLUE if x.d.accepted else charts.GREY)
                     for x in s.sales if wd.et(x.d.at).date() == day]
            end = max((r.end for r in on_day), default=m.at)
            chart = charts.timeline(rows, f"Verdict windows on {day}", min(end, m.at), marks) if rows else ""
            return {"s": s, "chart": Markup(chart)}
        return page(request, "surveillance", "surveillance.html.j2", build)

    @router.get(PREFIX + "/monitor", response_class=HTMLResponse, include_in_schema=False)
    def monitor(request: Request) -> Response:
        def build(v: BookView, m: wd.Moment) -> dict[str, Any]:
            mo = wd.monitor(v, m)
            names = {"threshold_list": ("threshold", charts.RED), "etb_list": ("easy to borrow", charts.GREEN),
                     "htb_list": ("hard to borrow", charts.AMBER)}
            series = [(names[k][0], pts, names[k][1]) for k, pts in mo.sizes.items()]
            chart = charts.steps(series, "Symbols on each list as it arrived") if series else ""
            return {"mo": mo, "chart": Markup(chart)}
        return page(request, "monitor", "monitor.html.j2", build)

    @router.get(PREFIX + "/decisions", response_class=HTMLResponse, include_in_schema=False)
    def decisions(request: Request, q: str = "", outcome: str = "", reason: str = "") -> Response:
        def build(v: BookView, m: wd.Moment) -> dict[str, Any]:
            found = wd.search(v, q, outcome if outcome in ("accept", "reject") else "", reason)
            codes = sorted({r for d in v.ledger.decisions for r in d.reasons})
            return {"q": q, "outcome": outcome, "reason": reason, "found": found[:500], "total": len(found),
                    "codes": codes}
        return page(request, "decisions", "decisions.html.j2", build)

    @router.get(PREFIX + "/decisions/{book}/{order_id}", response_class=HTMLResponse, include_in_schema=False)
    def decision(request: Request, book: str, order_id: str) -> Response:
        def build(v: BookView, m: wd.Moment) -> dict[str, Any]:
            x = wd.explain(v, order_id)
            return {"x": x, "order_id": order_id, "_status": 200 if x is not None else 404}
        return page(request, "decisions", "decision.html.j2", build, book)

    return router


def _with_key(request: Request, key: str) -> Request:
    """The same request as if it carried ``key`` in the login cookie (to ask ``authenticate`` about a new key)."""
    headers = [(k, v) for k, v in request.scope["headers"] if k not in (b"cookie", b"authorization")]
    headers.append((b"cookie", f"{COOKIE}={key}".encode("latin-1")))
    return Request({**request.scope, "headers": headers})
