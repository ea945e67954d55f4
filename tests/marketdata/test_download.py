"""The downloader against a real HTTP server on 127.0.0.1 serving fixture files: a 404, a truncated zip, a slow
response, a 503 with Retry-After; checksums recorded; the cache."""

from __future__ import annotations

import hashlib
import io
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regsho.app.data import fails_sources, list_sources
from regsho.cli.main import app
from regsho.marketdata.download import Downloader, DownloadError

FAILS = ("SETTLEMENT DATE|CUSIP|SYMBOL|QUANTITY (FAILS)|DESCRIPTION|PRICE\n"
         "20210126|36467W109|GME|2099572|GAMESTOP CORP (HLDG CO) CL A|76.79\n")


def _zip(name: str, text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, text)
    return buf.getvalue()


class Site:
    """Paths to (status, body, delay seconds, extra headers) answers, in order; the last one repeats."""

    def __init__(self) -> None:
        self.routes: dict[str, list[tuple[int, bytes, float, dict[str, str]]]] = {}
        self.hits: dict[str, int] = {}
        self.agents: list[str] = []

    def answer(self, path: str) -> tuple[int, bytes, float, dict[str, str]]:
        n = self.hits.get(path, 0)
        self.hits[path] = n + 1
        seq = self.routes.get(path) or [(404, b"not found", 0.0, {})]
        return seq[min(n, len(seq) - 1)]


@pytest.fixture()
def site() -> Iterator[tuple[Site, str]]:
    s = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            s.agents.append(self.headers.get("User-Agent", ""))
            path = self.path
            status, body, delay, headers = s.answer(path)
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield s, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


SEC = "/files/data/fails-deliver-data/"


def _dl(cache: Path, **kw: object) -> Downloader:
    return Downloader(cache, "Test Firm test@example.com", retries=2, backoff=0.01, timeout=2.0,
                      sleep=lambda _s: None, **kw)  # type: ignore[arg-type]


def test_fetch_records_checksum_sends_user_agent_and_uses_the_cache(site: tuple[Site, str], tmp_path: Path) -> None:
    s, base = site
    body = _zip("cnsfails202101a.txt", FAILS.replace("20210126", "20210105"))
    s.routes[SEC + "cnsfails202101a.zip"] = [(200, body, 0.0, {})]
    src = fails_sources("2021-01", base)[0]
    seen: list[int] = []
    with _dl(tmp_path, progress=lambda _n, done, _t: seen.append(done)) as dl:
        got = dl.fetch(src)
        again = dl.fetch(src)
    assert not got.cached and again.cached
    assert got.sha256 == hashlib.sha256(body).hexdigest()
    assert (tmp_path / "SHA256SUMS").read_text() == f"{got.sha256}  cnsfails202101a.zip\n"
    assert s.hits[SEC + "cnsfails202101a.zip"] == 1
    assert s.agents == ["Test Firm test@example.com"]
    assert seen and seen[-1] == len(body)


def test_a_changed_cached_file_is_fetched_again(site: tuple[Site, str], tmp_path: Path) -> None:
    s, base = site
    s.routes[SEC + "cnsfails202101a.zip"] = [(200, _zip("a.txt", FAILS.replace("20210126", "20210105")), 0.0, {})]
    src = fails_sources("2021-01", base)[0]
    with _dl(tmp_path) as dl:
        dl.fetch(src)
        (tmp_path / "cnsfails202101a.zip").write_bytes(b"tampered")
        assert not dl.fetch(src).cached
    assert s.hits[SEC + "cnsfails202101a.zip"] == 2


def test_404_is_not_published_after_trying_the_suffixed_name(site: tuple[Site, str], tmp_path: Path) -> None:
    s, base = site
    src = fails_sources("2021-01", base)[1]
    with _dl(tmp_path) as dl, pytest.raises(DownloadError, match="404"):
        dl.fetch(src)
    assert s.hits == {SEC + "cnsfails202101b.zip": 1, SEC + "cnsfails202101b_0.zip": 1}
    assert not (tmp_path / "cnsfails202101b.zip").exists()


def test_suffixed_name_is_used_when_the_plain_one_is_missing(site: tuple[Site, str], tmp_path: Path) -> None:
    s, base = site
    s.routes[SEC + "cnsfails202101b_0.zip"] = [(200, _zip("b.txt", FAILS), 0.0, {})]
    with _dl(tmp_path) as dl:
        got = dl.fetch(fails_sources("2021-01", base)[1])
    assert got.url.endswith("cnsfails202101b_0.zip") and got.path.name == "cnsfails202101b.zip"


def test_truncated_zip_is_refused_and_not_cached(site: tuple[Site, str], tmp_path: Path) -> None:
    s, base = site
    whole = _zip("cnsfails202101b.txt", FAILS * 1)
    s.routes[SEC + "cnsfails202101b.zip"] = [(200, whole[: len(whole) // 2], 0.0, {})]
    with _dl(tmp_path) as dl, pytest.raises(DownloadError, match=r"not valid.*zip"):
        dl.fetch(fails_sources("2021-01", base)[1])
    assert s.hits[SEC + "cnsfails202101b.zip"] == 3  # retried
    assert not (tmp_path / "cnsfails202101b.zip").exists()
    assert not (tmp_path / "SHA256SUMS").exists()


def test_slow_response_times_out_and_the_retry_succeeds(site: tuple[Site, str], tmp_path: Path) -> None:
    s, base = site
    body = _zip("cnsfails202101b.txt", FAILS)
    s.routes[SEC + "cnsfails202101b.zip"] = [(200, body, 1.5, {}), (200, body, 0.0, {})]
    with Downloader(tmp_path, "T t@example.com", retries=2, backoff=0.01, timeout=0.5,
                    sleep=lambda _s: None) as dl:
        got = dl.fetch(fails_sources("2021-01", base)[1])
    assert got.size == len(body) and s.hits[SEC + "cnsfails202101b.zip"] == 2


def test_503_with_retry_after_then_success(site: tuple[Site, str], tmp_path: Path) -> None:
    s, base = site
    body = _zip("cnsfails202101b.txt", FAILS)
    s.routes[SEC + "cnsfails202101b.zip"] = [(503, b"busy", 0.0, {"Retry-After": "7"}), (200, body, 0.0, {})]
    waits: list[float] = []
    with Downloader(tmp_path, "T t@example.com", retries=2, backoff=0.25, sleep=waits.append) as dl:
        dl.fetch(fails_sources("2021-01", base)[1])
    assert waits == [7.0, 0.25]


def test_unpublished_sro_list_is_refused(site: tuple[Site, str], tmp_path: Path) -> None:
    import datetime as dt

    s, base = site
    header = "Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Filler|Filler\n"
    srcs = {x.name: x for x in list_sources(dt.date(2021, 1, 28), base)}
    nyse = srcs["NYSE threshold list"]
    path = nyse.urls[0][len(base):]
    s.routes[path] = [(200, (header + "20210127210501\n").encode(), 0.0, {})]  # yesterday's file
    with _dl(tmp_path) as dl, pytest.raises(DownloadError, match=r"not\s+published"):
        dl.fetch(nyse)
    s.routes[path] = [(200, (header + "GME|GameStop|NYSE|Y||\n20210128210501\n").encode(), 0.0, {})]
    with _dl(tmp_path) as dl:
        assert dl.fetch(nyse).path.name == "NYSEth20210128.txt"


def test_cli_fetch_fails(site: tuple[Site, str], tmp_path: Path) -> None:
    s, base = site
    s.routes[SEC + "cnsfails202101a.zip"] = [(200, _zip("a.txt", FAILS.replace("20210126", "20210105")), 0.0, {})]
    s.routes[SEC + "cnsfails202101b.zip"] = [(200, _zip("b.txt", FAILS), 0.0, {})]
    res = CliRunner().invoke(app, ["data", "fetch", "fails", "2021-01", "--mirror", base, "--cache", str(tmp_path),
                                   "--user-agent", "T t@example.com"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SHA256SUMS", "cnsfails202101a.zip", "cnsfails202101b.zip"]
    bad = CliRunner().invoke(app, ["data", "fetch", "fails", "2021-13", "--cache", str(tmp_path)])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output


def test_cli_fetch_lists_reports_each_missing_file(site: tuple[Site, str], tmp_path: Path) -> None:
    _, base = site
    res = CliRunner().invoke(app, ["data", "fetch", "lists", "2021-01-28", "--mirror", base, "--cache",
                                   str(tmp_path), "--retries", "0"])
    assert res.exit_code == 1
    assert res.output.count("404") == 7
