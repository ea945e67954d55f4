"""Downloading the public files: SEC fails-to-deliver zips and the SROs' daily lists, into a local cache.

httpx does the HTTP (timeouts, redirects, streaming); this module adds what the sources need: a User-Agent that
names the user (the SEC refuses anonymous clients), retries with exponential back-off on timeouts, connection
errors, 429 and 5xx (honouring ``Retry-After``), progress reports (a Rich bar in the command line), a SHA-256 per
file recorded in the cache's ``SHA256SUMS`` (the format ``sha256sum -c`` reads), and validation before a file
enters the cache: a download is written to a temporary file, checked by the caller's check (the adapters'
parsers, wired in ``regsho.app.data``: a truncated zip, a list whose trailer names another day), and only then
renamed into place. A file already in the cache whose checksum matches the record is not fetched again.

Sources (RULEBOOK §8): the SEC's ``cnsfailsYYYYMM{a|b}.zip`` (with the occasional ``_0`` suffix tried on a 404),
Nasdaq's ``nasdaqthYYYYMMDD.txt`` and ``shorthaltsYYYYMMDD.txt``, and the NYSE group's download for each of its
five markets. Cboe's list has no documented address and FINRA's OTC list needs an API key: their files are read
by ``lists load`` when a user puts them in the folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import httpx

SEC_FAILS: Final = "https://www.sec.gov/files/data/fails-deliver-data/cnsfails{ym}{half}{suffix}.zip"
NASDAQ_THRESHOLD: Final = "https://www.nasdaqtrader.com/dynamic/symdir/regsho/nasdaqth{ymd}.txt"
NASDAQ_SHORTHALTS: Final = "https://www.nasdaqtrader.com/dynamic/symdir/shorthalts/shorthalts{ymd}.txt"
NYSE_THRESHOLD: Final = ("https://www.nyse.com/api/regulatory/threshold-securities/download"
                         "?selectedDate={iso}&market={market}")
DEFAULT_USER_AGENT: Final = "regsho/0.1 (set REGSHO_USER_AGENT to 'Your Name your.address@example.com')"
RETRY_STATUS: Final = frozenset({408, 425, 429, 500, 502, 503, 504})


class DownloadError(RuntimeError):
    """A file could not be fetched or is not valid (after the retries)."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        super().__init__(f"{url}: {message}")


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    urls: tuple[str, ...]  # tried in order on a 404
    filename: str
    check: Callable[[Path], object]


@dataclass(frozen=True, slots=True)
class Fetched:
    name: str
    path: Path
    url: str
    sha256: str
    size: int
    cached: bool


def mirrored(url: str, mirror: str | None) -> str:
    """``url`` served from ``mirror`` (same path and query), for a local copy of the sites or a test server."""
    if not mirror:
        return url
    parts = urlsplit(url)
    return mirror.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


Check = Callable[[Path], object]


def fails_sources(month: str, check: Check, mirror: str | None = None) -> list[Source]:
    """The two SEC files of a month ``YYYY-MM``; ``check`` validates a downloaded file (raises on a bad one)."""
    m = re.fullmatch(r"(\d{4})-?(\d{2})", month)
    if m is None or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"a month is YYYY-MM, got {month!r}")
    ym = m.group(1) + m.group(2)
    return [Source(f"SEC fails {ym}{half}",
                   tuple(mirrored(SEC_FAILS.format(ym=ym, half=half, suffix=sfx), mirror) for sfx in ("", "_0")),
                   f"cnsfails{ym}{half}.zip", check) for half in "ab"]


NYSE_MARKETS: Final = ("NYSE", "NYSEArca", "NYSEAmer", "NYSENational", "NYSEChicago")


def list_sources(d: dt.date, threshold_check: Check, ssr_check: Check, mirror: str | None = None) -> list[Source]:
    """The SRO files for settlement date ``d``: Nasdaq's threshold list and Rule 201 file, the NYSE group's lists
    (``threshold_check`` and ``ssr_check`` validate a downloaded file for ``d``)."""
    ymd, iso = d.strftime("%Y%m%d"), d.isoformat()
    out = [
        Source("Nasdaq threshold list", (mirrored(NASDAQ_THRESHOLD.format(ymd=ymd), mirror),), f"nasdaqth{ymd}.txt",
               threshold_check),
        Source("Nasdaq Rule 201 file", (mirrored(NASDAQ_SHORTHALTS.format(ymd=ymd), mirror),),
               f"shorthalts{ymd}.txt", ssr_check),
    ]
    for market in NYSE_MARKETS:
        out.append(Source(f"{market} threshold list", (mirrored(NYSE_THRESHOLD.format(iso=iso, market=market),
                                                                 mirror),),
                          f"{market}th{ymd}.txt", threshold_check))
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Cache:
    """A folder of downloaded files and their ``SHA256SUMS``."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.sums_path = self.folder / "SHA256SUMS"

    def sums(self) -> dict[str, str]:
        if not self.sums_path.exists():
            return {}
        out = {}
        for ln in self.sums_path.read_text().splitlines():
            parts = ln.split(None, 1)
            if len(parts) == 2:
                out[parts[1].lstrip("*")] = parts[0]
        return out

    def record(self, name: str, digest: str) -> None:
        sums = self.sums()
        sums[name] = digest
        tmp = self.sums_path.with_suffix(".tmp")
        tmp.write_text("".join(f"{h}  {n}\n" for n, h in sorted(sums.items())))
        os.replace(tmp, self.sums_path)

    def valid(self, name: str) -> str | None:
        """The recorded checksum of a cached file if the file still matches it."""
        p = self.folder / name
        want = self.sums().get(name)
        if want is None or not p.exists():
            return None
        return want if sha256_of(p) == want else None


ProgressHook = Callable[[str, int, int | None], None]  # name, bytes so far, total (None: unknown)


class Downloader:
    def __init__(self, cache: str | Path, user_agent: str = DEFAULT_USER_AGENT, retries: int = 4,
                 backoff: float = 1.0, timeout: float = 60.0, progress: ProgressHook | None = None,
                 sleep: Callable[[float], None] = time.sleep, transport: httpx.BaseTransport | None = None) -> None:
        self.cache = Cache(cache)
        self.retries = retries
        self.backoff = backoff
        self.progress = progress
        self.sleep = sleep
        self.client = httpx.Client(headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
                                   timeout=httpx.Timeout(timeout), follow_redirects=True, transport=transport)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Downloader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def fetch(self, src: Source) -> Fetched:
        """One source into the cache (or from it), validated; raises ``DownloadError``."""
        self.cache.folder.mkdir(parents=True, exist_ok=True)
        target = self.cache.folder / src.filename
        digest = self.cache.valid(src.filename)
        if digest is not None:
            return Fetched(src.name, target, src.urls[0], digest, target.stat().st_size, True)
        last_404: DownloadError | None = None
        for url in src.urls:
            try:
                return self._fetch_url(src, url, target)
            except _NotFound as e:
                last_404 = DownloadError(url, str(e))
        assert last_404 is not None
        raise last_404

    def _fetch_url(self, src: Source, url: str, target: Path) -> Fetched:
        tmp = target.with_name(f".{target.name}.part")
        problem = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                with self._get(url) as resp:
                    if resp.status_code == 404:
                        raise _NotFound("not found (404): not published (yet)")
                    if resp.status_code in RETRY_STATUS:
                        problem = f"HTTP {resp.status_code}"
                        wait = _retry_after(resp.headers.get("Retry-After"))
                        if wait is not None and attempt < self.retries:
                            self.sleep(min(wait, 60.0))
                        continue
                    if resp.status_code >= 400:
                        raise DownloadError(url, f"HTTP {resp.status_code}")
                    total = int(resp.headers["Content-Length"]) if resp.headers.get("Content-Length", "").isdigit() \
                        and not resp.headers.get("Content-Encoding") else None
                    h = hashlib.sha256()
                    size = 0
                    with tmp.open("wb") as fh:
                        for chunk in resp.iter_bytes(1 << 16):
                            fh.write(chunk)
                            h.update(chunk)
                            size += len(chunk)
                            if self.progress:
                                self.progress(src.name, size, total)
                    if total is not None and size != total:
                        problem = f"truncated: {size} of {total} bytes"
                        continue
            except (httpx.TimeoutException, httpx.TransportError) as e:
                problem = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                continue
            try:
                src.check(tmp)
            except ValueError as e:  # the adapters' input error is a ValueError
                problem = f"not valid: {e}"
                continue
            os.replace(tmp, target)
            digest = h.hexdigest()
            self.cache.record(src.filename, digest)
            return Fetched(src.name, target, url, digest, size, False)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise DownloadError(url, f"{problem} (after {self.retries + 1} attempts)")

    @contextlib.contextmanager
    def _get(self, url: str) -> Iterator[httpx.Response]:
        with self.client.stream("GET", url) as resp:
            yield resp


class _NotFound(Exception):
    pass


def _retry_after(v: str | None) -> float | None:
    if v is None:
        return None
    try:
        return max(0.0, float(v))
    except ValueError:
        return None
