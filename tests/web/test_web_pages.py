"""The dashboard's pages through FastAPI's TestClient: access by role, login and logout, and what each page shows."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import DEMO_BOOK, DESK_BOOK, KEYS, PENALTY_BOOK

from regsho.web import PAGES

Client = Callable[[str | None], TestClient]
COMPLIANCE = [p.slug for p in PAGES if p.group == "pages.compliance"]
DESK = [p.slug for p in PAGES if p.group == "pages.desk"]


def url(slug: str, book: str = PENALTY_BOOK, **q: str) -> str:
    extra = "".join(f"&{k}={quote(v)}" for k, v in q.items())
    return f"/dashboard{'/' + slug if slug else ''}?book={book}{extra}"


def text(page: str) -> str:
    """The page's words without tags (for assertions on what a reader sees)."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


# -- access ----------------------------------------------------------------------------------------------------


def test_without_a_key_every_page_redirects_to_login(as_role: Client) -> None:
    c = as_role(None)
    for p in PAGES:
        r = c.get(url(p.slug))
        assert r.status_code == 303
        assert r.headers["location"].startswith("/dashboard/login?next=%2Fdashboard")


def test_a_trader_opens_desk_pages_but_no_compliance_or_operations_page(as_role: Client) -> None:
    c = as_role("trader")
    for slug in DESK:
        assert c.get(url(slug)).status_code == 200, slug
    for slug in [*COMPLIANCE, "closeouts"]:
        r = c.get(url(slug))
        assert r.status_code == 403, slug
        assert "The trader role may not open this page" in r.text
        assert "Locates</a>" in r.text and "Penalty box</a>" not in r.text  # the menu of what it may open
    assert c.get(f"/dashboard/decisions/{PENALTY_BOOK}/O1").status_code == 403
    menu = c.get(url("")).text
    assert "Penalty box" not in menu and "Decisions" not in menu.split("<main>")[0]


def test_operations_opens_close_outs_but_not_the_compliance_pages(as_role: Client) -> None:
    c = as_role("operations")
    assert c.get(url("closeouts")).status_code == 200
    assert c.get(url("penalty-box")).status_code == 403


@pytest.mark.parametrize("role", ["compliance", "admin"])
def test_compliance_and_admin_open_every_page(as_role: Client, role: str) -> None:
    c = as_role(role)
    for p in PAGES:
        r = c.get(url(p.slug))
        assert r.status_code == 200, p.slug
        assert "data read" in r.text and 'datetime="' in r.text  # when the data was last updated
        assert r.headers["content-security-policy"].startswith("default-src 'self'")


def test_a_bearer_header_is_a_key_too(as_role: Client) -> None:
    c = as_role(None)
    r = c.get(url("penalty-box"), headers={"Authorization": f"Bearer {KEYS['compliance']}"})
    assert r.status_code == 200


def test_login_sets_an_http_only_cookie_and_follows_next(as_role: Client) -> None:
    c = as_role(None)
    form = c.get("/dashboard/login?next=%2Fdashboard%2Fpenalty-box")
    assert form.status_code == 200 and 'name="key"' in form.text and 'value="/dashboard/penalty-box"' in form.text
    r = c.post("/dashboard/login", data={"key": KEYS["compliance"], "next": "/dashboard/penalty-box"})
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/penalty-box"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"regsho_key={KEYS['compliance']};")
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/" in cookie
    assert c.get(url("penalty-box")).status_code == 200


def test_login_refuses_a_wrong_key_and_never_redirects_off_site(as_role: Client) -> None:
    c = as_role(None)
    bad = c.post("/dashboard/login", data={"key": "not-a-key-of-anyone-000", "next": "/dashboard"})
    assert bad.status_code == 401 and "not recognised" in bad.text and "set-cookie" not in bad.headers
    odd = c.post("/dashboard/login", data={"key": "a key; with=odd chars", "next": "/dashboard"})
    assert odd.status_code == 401
    for target in ("https://elsewhere.example/", "//elsewhere.example/", "/other"):
        r = c.post("/dashboard/login", data={"key": KEYS["trader"], "next": target})
        assert r.headers["location"] == "/dashboard"


def test_logout_clears_the_cookie(as_role: Client) -> None:
    c = as_role("compliance")
    r = c.post("/dashboard/logout")
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/login"
    assert r.headers["set-cookie"].startswith('regsho_key="";') or "Max-Age=0" in r.headers["set-cookie"]
    c.cookies.clear()
    assert c.get(url("")).status_code == 303


def test_static_files_and_unknown_books(as_role: Client) -> None:
    c = as_role("trader")
    css = c.get("/dashboard/static/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert c.get("/dashboard/static/dashboard.js").headers["content-type"].startswith("text/javascript")
    assert c.get("/dashboard/static/../router.py").status_code == 404
    r = c.get("/dashboard?book=NOPE")
    assert r.status_code == 404 and "There is no book" in r.text


# -- pages ---------------------------------------------------------------------------------------------------------


def test_book_selection_lists_every_book(as_role: Client) -> None:
    page = as_role("trader").get(url("", DESK_BOOK)).text
    for book in ("01_locate_desk_day", PENALTY_BOOK, DESK_BOOK):
        assert f'<option value="{book}"' in page
    assert f'<option value="{DESK_BOOK}" selected>' in page


def test_decision_search_by_order_account_symbol_and_time(as_role: Client) -> None:
    c = as_role("compliance")

    def orders(q: str, **kw: str) -> set[str]:
        page = c.get(url("decisions", q=q, **kw)).text
        return set(re.findall(rf'/dashboard/decisions/{PENALTY_BOOK}/(\w+)"', page))

    assert orders("O1") == {"O1"}
    assert orders("B1") == {"O2"}  # the account
    assert orders("VANT") == {"O1", "O2", "O3", "O4", "O5", "O6"}
    assert orders("2025-03-12T10") == {"O1", "O2", "O3"}
    assert orders("A1 2025-03-13") == {"O5"}
    assert orders("2025-03-12 10:01") == {"O2"}  # a date and a time given apart
    assert orders("VANT", outcome="reject") == {"O1", "O2", "O5"}
    assert orders("", reason="PRE_BORROW") == {"O4"}
    assert orders("nothing-like-this") == set()


def test_a_decision_explains_itself_with_citations_and_the_events_behind_it(as_role: Client) -> None:
    r = as_role("compliance").get(f"/dashboard/decisions/{PENALTY_BOOK}/O1")
    assert r.status_code == 200
    t = text(r.text)
    assert "Order O1 at 2025-03-12 10:00:00 ET was rejected" in t
    assert "PRE_BORROW_REQUIRED" in t and "17 CFR 242.204(b)" in t
    assert "Recorded as made: record" in t
    # what led to it: the fail, the locate named, the missed deadline's events, the order itself
    for what in ("fail", "locate", "id: L1", "order"):
        assert what in t, what
    assert "Afterwards" not in t  # nothing happened to O1 after it was decided
    missing = as_role("compliance").get(f"/dashboard/decisions/{PENALTY_BOOK}/NOPE")
    assert missing.status_code == 404 and "has no decision on an order NOPE" in missing.text


def test_the_penalty_box_shows_the_missed_close_out_and_what_releases_it(as_role: Client) -> None:
    t = text(as_role("compliance").get(url("penalty-box")).text)
    assert "CLEARCO in VANT" in t and "CORR1 in VANT" in t
    assert "purchases of 2,000 shares of VANT by CLEARCO after 2025-03-12 09:30:00 ET, cleared and settled" in t
    assert "OB1: 2,000 shares under 204(a), deadline 2025-03-12 09:30 ET, 2,000 not closed out by then" in t
    assert "CLOSE_OUT_MISSED" in t
    for n in ("N1", "N2", "N3", "N4"):
        assert n in t
    assert "<svg" in as_role("compliance").get(url("penalty-box")).text
    # the correspondent's book: a 204(c) notice received
    t3 = text(as_role("compliance").get(url("penalty-box", "03_market_maker_and_penalty_box")).text)
    assert "204(c) notices received" in t3 and "MMFIRM QRTZ 204(b) 2025-03-11 09:30 ET until lifted in force" in t3


def test_close_outs_due_today_with_the_time_left_to_the_open(as_role: Client) -> None:
    c = as_role("operations")
    t = text(c.get(url("closeouts", as_of="2025-03-12T08:00")).text)
    assert "As of 2025-03-12 08:00 ET (chosen)" in t
    assert re.search(r"OB1 CLEARCO VANT 204\(a\) 2,000 2025-03-12 09:30 ET purchase or borrow 1 h 30 min left", t)
    end = text(c.get(url("closeouts")).text)
    assert "(the book's last event)" in end
    assert re.search(r"Missed .*OB1 CLEARCO VANT 204\(a\) 2,000 2025-03-12 09:30 ET 2025-03-12 10:30 ET", end)
    bad = text(c.get(url("closeouts", as_of="yesterday")).text)
    assert "is not a time" in bad


def test_threshold_lists_day_over_day_and_the_watch(as_role: Client) -> None:
    r = as_role("trader").get(url("threshold", DESK_BOOK))
    t = text(r.text)
    assert "List of 2025-03-13 06:00 ET: 2 securities" in t
    assert "Against the list of 2025-03-12 06:00 ET: 0 added, 0 removed" in t
    assert re.search(r"THRX Thrax Holdings 2025-03-03 9 ", t)  # on the list since the first list: 9 days
    assert re.search(r"NEWB 2025-03-05 7 ", t)
    # the firm's own fails in THRX: 8 settlement days counted through 03-12 (03-13 is judged at its end by the list
    # then in effect), 5 to go: the 13th is 03-19 and the close-out is due at the open of the next settlement day
    assert re.search(r"THRX 8 13 5 2025-03-12 1,500 2025-03-19 2025-03-20 09:30 ET 2025-03-13", t)
    assert r.text.count("<svg") == 2
    earlier = text(as_role("trader").get(url("threshold", DESK_BOOK, as_of="2025-03-06T12:00")).text)
    assert "Added: NEWB" not in earlier and "Removed: OLDY" in earlier


def test_locates_by_source_and_account_with_reuse_marked(as_role: Client) -> None:
    c = as_role("locate_desk")
    t = text(c.get(url("locates", "01_locate_desk_day")).text)
    assert "lender A" in t and "lender B" in t and "HF1" in t and "HF2" in t
    assert re.search(r"LK1 HF1 KELP lender A 5,000 .* exhausted", t)
    assert re.search(r"LK2 HF1 KELP lender B 2,000 0 0 0 0 2,000 .* expired", t)
    assert "FAQ 4.4" in t and "LOCATE_REUSED" in t and "LOCATE_REUSE_NOT_ALLOWED" in t
    assert "No locate was returned to the locate desk." in t
    d = text(c.get(url("locates", DESK_BOOK)).text)
    # LX1: 900 held by S2 (300 of them reused), the 100 left returned to the locate desk at 15:00
    assert re.search(r"LX1 HF1 QRTZ lender A 1,000 1,300 300 FAQ 4.4 900 100 0 .* exhausted \(rest returned\)", d)
    assert re.search(r"Returned to the locate desk record .* why \d+ 2025-03-13 15:00 ET LX1 HF1 QRTZ lender A 100 "
                     r"Locate Desk the desk's need is met", d)
    assert re.search(r"lender A 1 1,000 900 300 100 0", d)  # by source: granted, consumed, reused, returned, left


def test_the_demo_desks_returns_on_the_locates_and_decision_pages(as_role: Client, demo_story: Any) -> None:
    """The demo's last day: a locate handed back whole, the unused rest of a large one taken back, and the short
    sale refused after it, with the return among the events that led to its decision."""
    st = demo_story
    t = text(as_role("compliance").get(url("locates", DEMO_BOOK)).text)
    assert re.search(rf"{st.spare_locate} {st.return_account} \w+ stock loan: BNY agency lending 3,000 0 0 0 3,000 0 "
                     r".* returned", t)
    assert re.search(rf"{st.returned_locate} {st.return_account} \w+ locate desk 20,000 5,000 0 5,000 15,000 0 .* "
                     r"exhausted \(rest returned\)", t)
    assert re.search(rf"ET {st.returned_locate} {st.return_account} \w+ locate desk 15,000 locate desk: R. Okafor "
                     r"unused rest of a 20,000-share locate", t)  # "all that is unused", counted by the engine
    assert st.refused_after_return in t  # among the short sales refused for want of a good locate
    d = text(as_role("compliance").get(f"/dashboard/decisions/{DEMO_BOOK}/{st.refused_after_return}").text)
    assert "LOCATE_EXHAUSTED" in d and "15000 returned to the locate desk" in d
    led_to = d.split("Events that led to it")[1]
    assert re.search(rf"14:00 ET locate release by: locate desk: R. Okafor; id: {st.returned_locate}; reason: unused "
                     "rest", led_to)
    used = text(as_role("compliance").get(f"/dashboard/decisions/{DEMO_BOOK}/RETURN-1").text)
    assert re.search(rf"Afterwards .* locate release by: locate desk: R. Okafor; id: {st.returned_locate}", used)


def test_market_making_sales_with_the_verdict_of_their_window(as_role: Client) -> None:
    c = as_role("compliance")
    t = text(c.get(url("market-making", DESK_BOOK)).text)
    assert re.search(r"MM1 2025-03-13 10:10 ET MM QRTZ 300 accept surveillance verdict 2025-03-13 09:30 ET – 10:00 "
                     r"bona fide", t)
    assert re.search(r"MM2 .* reject surveillance verdict 2025-03-13 10:00 ET – 10:30 not bona fide MM_BAND_EDGE", t)
    t3 = text(c.get(url("market-making", "03_market_maker_and_penalty_box")).text)
    assert "M2" in t3 and "latest review" in t3
    s = c.get(url("surveillance", DESK_BOOK))
    st = text(s.text)
    assert "MM_BAND_EDGE" in st and "not bona fide" in st and "<svg" in s.text


def test_the_monitor_shows_lists_rule_201_and_securities(as_role: Client) -> None:
    t = text(as_role("trader").get(url("monitor", "02_price_test_and_marking")).text)
    assert "Rule 201 triggers" in t and "DRPX" in t
    assert re.search(r"DRPX .* 2025-03-1\d \d\d:\d\d ET – 2025-03-1\d 23:59", t) or "in force" in t
    one = as_role("trader").get(url("monitor", "01_locate_desk_day"))
    assert "easy to borrow" in one.text and "<svg" in one.text
    # the lists in force at the moment shown: the ETB list of 06:30 is 24 hours old the next morning
    lists = text(one.text)
    assert "easy to borrow 2025-03-10 06:30 ET 2 1 d 0 h" in lists
    before = text(as_role("trader").get(url("monitor", "01_locate_desk_day", as_of="2025-03-10T06:00")).text)
    assert "easy to borrow none received 0" in before
    assert "Rule 201 windows are shown as the book stands after its last event" in before


def test_the_overview_counts_and_links_by_role(as_role: Client) -> None:
    page = as_role("compliance").get(url("")).text
    t = text(page)
    assert "Missed close-outs 1" in t and "Decisions 6" in t
    assert page.count('<svg role="img"') == 2 and 'aria-label="Decisions per day"' in page  # 3 days of decisions
    trader = as_role("trader").get(url("")).text
    assert f"/dashboard/penalty-box?book={PENALTY_BOOK}" not in trader
