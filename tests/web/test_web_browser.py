"""The dashboard in a real browser: headless Debian chromium driven by Playwright, against ``regsho dashboard``
started on 127.0.0.1 over a store of the bundled examples. Every page loads without console errors and without
horizontal overflow at phone width (375 px); the decision search finds an order and shows its citations; the
penalty box shows the missed close-out and what releases it; a trader's key opens no compliance page."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.web.conftest import DEMO_BOOK, DESK_BOOK, HAS_DEMO, KEYS, PENALTY_BOOK

from regsho.web import PAGES

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: `python3 dev.py test` "
                                "installs Debian's chromium (apt-get install chromium) when it can")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(store_db: str, key_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``regsho dashboard`` in a process of its own, on a free loopback port."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-c", "from regsho.cli.main import main; main()", "dashboard",
                                 "--db", store_db, "--keys", str(key_file), "--port", str(port), "--host",
                                 "127.0.0.1"], stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/dashboard/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"regsho dashboard did not start: {log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield ctx
        finally:
            ctx.close()


class Watched:
    """A page whose console errors, uncaught exceptions and failed requests are collected."""

    def __init__(self, ctx: Any) -> None:
        self.page = ctx.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))

    def login(self, base: str, role: str) -> None:
        self.page.context.clear_cookies()
        self.page.goto(f"{base}/dashboard")
        assert "/dashboard/login" in self.page.url
        self.page.fill("input[name=key]", KEYS[role])
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{base}/dashboard")

    def open(self, url: str) -> Any:
        resp = self.page.goto(url)
        self.page.wait_for_load_state("load")
        return resp


def _urls(base: str) -> list[str]:
    out = []
    for book in (PENALTY_BOOK, DESK_BOOK, *((DEMO_BOOK,) if HAS_DEMO else ())):
        out += [f"{base}/dashboard{'/' + p.slug if p.slug else ''}?book={book}" for p in PAGES]
    out.append(f"{base}/dashboard/decisions/{PENALTY_BOOK}/O1")
    out.append(f"{base}/dashboard/decisions?book={PENALTY_BOOK}&q=VANT")
    return out


def test_every_page_loads_without_console_errors(server: str, context: Any) -> None:
    w = Watched(context)
    w.login(server, "compliance")
    for url in _urls(server):
        resp = w.open(url)
        assert resp is not None and resp.status == 200, url
        assert w.page.locator("#updated").inner_text().startswith("As of"), url  # when the data was read
        assert w.errors == [], f"{url}: {w.errors}"
    w.page.close()


def test_phone_width_has_no_horizontal_overflow(server: str, context: Any) -> None:
    w = Watched(context)
    w.login(server, "compliance")
    w.page.set_viewport_size({"width": 375, "height": 740})
    for url in _urls(server):
        w.open(url)
        wide = w.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert wide[0] <= wide[1] == 375, f"{url}: the page is {wide[0]} px wide at a 375 px viewport"
    assert w.errors == []
    w.page.close()


def test_the_decision_search_finds_an_order_and_shows_its_citations(server: str, context: Any) -> None:
    w = Watched(context)
    w.login(server, "compliance")
    w.open(f"{server}/dashboard/decisions?book={PENALTY_BOOK}")
    w.page.fill("form.search input[name=q]", "O1")
    w.page.click("form.search button[type=submit]")
    w.page.wait_for_url("**q=O1**")
    w.page.click(f"a[href='/dashboard/decisions/{PENALTY_BOOK}/O1']")
    w.page.wait_for_url(f"**/decisions/{PENALTY_BOOK}/O1")
    assert "was rejected" in w.page.locator("section.explain h2").inner_text()
    cites = w.page.locator("p.cites").inner_text()
    assert "17 CFR 242.204(b)" in cites
    assert "PRE_BORROW_REQUIRED" in w.page.locator("ul.reasons").inner_text()
    assert w.errors == []
    w.page.close()


def test_the_penalty_box_shows_the_missed_close_out_and_what_releases_it(server: str, context: Any) -> None:
    w = Watched(context)
    w.login(server, "compliance")
    w.open(f"{server}/dashboard/penalty-box?book={PENALTY_BOOK}")
    box = w.page.locator("article.box").first.inner_text()
    assert "VANT" in box and "204(b)" in box
    assert "purchases of 2,000 shares of VANT by CLEARCO" in w.page.locator("dd.releases").first.inner_text()
    missed = w.page.locator("#missed + .scroll").inner_text()
    assert "OB1" in missed and "missed" in missed
    assert w.errors == []
    w.page.close()


def test_choosing_a_book_shows_it(server: str, context: Any) -> None:
    w = Watched(context)
    w.login(server, "trader")
    w.open(f"{server}/dashboard/threshold?book={PENALTY_BOOK}")
    w.page.select_option("select[name=book]", DESK_BOOK)
    w.page.wait_for_url(f"**book={DESK_BOOK}**")
    assert "THRX" in w.page.locator("main").inner_text()
    assert w.errors == []
    w.page.close()


def test_a_trader_cannot_open_the_compliance_pages(server: str, context: Any) -> None:
    w = Watched(context)
    w.login(server, "trader")
    nav = w.page.locator("header nav").inner_text()
    assert "Locates" in nav and "Penalty box" not in nav and "Decisions" not in nav
    for p in PAGES:
        if p.group != "pages.compliance":
            continue
        resp = w.open(f"{server}/dashboard/{p.slug}?book={PENALTY_BOOK}")
        assert resp is not None and resp.status == 403, p.slug
        assert "The trader role may not open this page" in w.page.locator("main").inner_text()
    resp = w.open(f"{server}/dashboard/decisions/{PENALTY_BOOK}/O1")
    assert resp is not None and resp.status == 403
    w.page.click("form.who button")  # log out
    w.page.wait_for_url("**/dashboard/login")
    assert all(c["name"] != "regsho_key" for c in w.page.context.cookies())
    w.page.close()


def test_the_demo_firm_in_the_browser(server: str, context: Any, demo_story: Any) -> None:
    """The demo's missed close-out and what releases it, its FAQ 4.4 reuse with its citation, its failing market
    maker, its locates returned to the locate desk."""
    w = Watched(context)
    w.login(server, "compliance")
    w.open(f"{server}/dashboard/penalty-box?book={DEMO_BOOK}")
    missed = w.page.locator("#missed + .scroll").inner_text()
    assert demo_story.missed_symbol in missed and "missed" in missed
    box = w.page.locator(f"article.box:has-text('in {demo_story.missed_symbol}')").first
    assert "purchases of" in box.locator("dd.releases").inner_text()
    w.open(f"{server}/dashboard/decisions?book={DEMO_BOOK}")
    w.page.fill("form.search input[name=q]", demo_story.reuse_order)
    w.page.click("form.search button[type=submit]")
    w.page.click(f"a[href='/dashboard/decisions/{DEMO_BOOK}/{demo_story.reuse_order}']")
    assert "SEC Reg SHO FAQ 4.4" in w.page.locator("section.explain").inner_text()
    w.open(f"{server}/dashboard/market-making?book={DEMO_BOOK}")
    tally = w.page.locator("main table").first.inner_text()
    assert demo_story.failing_mm in tally
    # the locate desk's returns: a locate handed back whole, and the rest of a large one taken back
    w.open(f"{server}/dashboard/locates?book={DEMO_BOOK}")
    spare = w.page.locator(f"tr:has(td:text-is('{demo_story.spare_locate}'))").first.inner_text()
    assert "returned" in spare
    returns = w.page.locator("#returned + .scroll").inner_text()
    assert demo_story.returned_locate in returns and "15,000" in returns and "R. Okafor" in returns
    assert w.errors == []
    w.page.close()
