"""The HTTP API (``/v1``): FastAPI for the API and its OpenAPI schema; the gate's route ``POST /v1/orders/check``
is a thin Starlette route decoding with msgspec, so that the framework does not dominate the hot path.

Every write carries an ``Idempotency-Key`` header (a duplicate gets the first answer; the store holds the event
once), is checked against the one access table (``regsho.app.access``) and is recorded with who submitted it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Annotated, Any
from urllib.parse import parse_qs

import msgspec
import orjson
from fastapi import APIRouter, FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection
from starlette.responses import Response

from regsho.adapters import results_json as rj
from regsho.adapters import schema as sch
from regsho.adapters.scenario import ScenarioError
from regsho.app.access import Principal, allowed
from regsho.app.views import BookView
from regsho.calendars import default_calendars
from regsho.core import events as ev
from regsho.law import reasons as rc
from regsho.service.auth import KeyRing, authenticate
from regsho.service.live import (
    Answers,
    LiveBook,
    Refused,
    fingerprint,
    locate_json,
    order_records,
    record_json,
    who,
)
from regsho.store import AlreadyImported, Store, StoreError
from regsho.store.live import LiveLog

log = logging.getLogger("regsho.service")
JSON = "application/json"
MAX_KEY = 200


# -- the service ------------------------------------------------------------------------------------------------


class LiveService:
    """The store, the live books, the keys and the answers kept for idempotency keys."""

    def __init__(self, db: str | Store, *, books: Sequence[str] | None = None,
                 reference_max_age: dt.timedelta | None = dt.timedelta(hours=24),
                 idempotency_window: dt.timedelta = dt.timedelta(hours=24), snapshot_every: int = 50_000,
                 snapshot_seconds: float = 300.0, probe_seconds: float = 1.0, max_pending: int = 20_000,
                 behind_seconds: float = 2.0, timeout: float = 5.0, freeze_every: int = 5_000) -> None:
        self.store = db if isinstance(db, Store) else Store(db, timeout=timeout)
        self.live = LiveLog(self.store)
        self.keyring = KeyRing(self.store)
        self.answers = Answers(idempotency_window)
        self.wanted = list(books) if books else None
        self.reference_max_age = reference_max_age
        self.snapshot_every = snapshot_every
        self.snapshot_seconds = snapshot_seconds
        self.probe_seconds = probe_seconds
        self.max_pending = max_pending
        self.behind_seconds = behind_seconds
        self.freeze_every = freeze_every
        self.books: dict[str, LiveBook] = {}
        self.store_error: str | None = "not started"
        self.started = False
        self._tasks: list[asyncio.Task[None]] = []

    def _book(self, name: str) -> LiveBook:
        return LiveBook(name, self.store, self.live, self.answers, reference_max_age=self.reference_max_age,
                        snapshot_every=self.snapshot_every, snapshot_seconds=self.snapshot_seconds,
                        max_pending=self.max_pending, behind_seconds=self.behind_seconds,
                        freeze_every=self.freeze_every)

    def _open(self) -> None:
        default_calendars()  # built once per process (the engine's calendars), before any book is timed
        self.store.migrate()
        self.keyring.reload()
        names = self.wanted if self.wanted is not None else self.store.books()
        since = dt.datetime.now(dt.UTC) - self.answers.window
        for name in names:
            b = self._book(name)
            b.load()
            self.answers.load(self.live.recent_answers(name, since))
            self.books[name] = b
        gc.collect()
        gc.freeze()  # the books' state lives as long as the process: the collector need not walk it again
        self.store_error = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._open)
        for b in self.books.values():
            await b.start()
        self.started = True
        self._tasks.append(asyncio.create_task(self._probe(), name="regsho store probe"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        for b in self.books.values():
            await b.stop()
        self.store.close()

    async def _probe(self) -> None:
        """Every ``probe_seconds``: can the store be written (the writer's lock taken and let go)? Books whose
        commit failed are reloaded from the store once it can; keys are re-read now and then."""
        loop = asyncio.get_running_loop()
        n = 0
        while True:
            await asyncio.sleep(self.probe_seconds)
            try:
                await loop.run_in_executor(None, self.live.probe)
                self.store_error = None
            except Exception as e:
                self.store_error = str(e) if isinstance(e, StoreError) else f"{type(e).__name__}: {e}"
                continue
            for b in self.books.values():
                await b.recover_if_needed()
            self.answers.prune()
            n += 1
            if n % max(1, int(self.keyring.refresh / self.probe_seconds)) == 0:
                with contextlib.suppress(Exception):
                    await loop.run_in_executor(None, self.keyring.reload)

    def book(self, name: str | None) -> LiveBook:
        if name is None:
            if len(self.books) == 1:
                return next(iter(self.books.values()))
            names = ", ".join(sorted(self.books)) or "none"
            raise Refused(400 if self.books else 404, f"name the book (?book=...): this service keeps {names}")
        b = self.books.get(name)
        if b is None:
            raise Refused(404, f"no book {name!r} (books: {', '.join(sorted(self.books)) or 'none'})")
        return b

    def problems(self) -> list[str]:
        out = []
        if not self.started:
            out.append("starting")
        if self.store_error is not None:
            out.append(f"the store cannot be written: {self.store_error}")
        for b in self.books.values():
            if b.failed is not None:
                out.append(f"book {b.name}: {b.failed}")
            behind = b.behind
            if behind is not None:
                out.append(f"book {b.name}: the writer is behind ({behind})")
        return out

    async def create_book(self, doc: dict[str, Any], by: str) -> LiveBook:
        loop = asyncio.get_running_loop()
        name = doc.get("book") or (doc.get("firm") or {}).get("id")
        if not isinstance(name, str) or not name:
            raise Refused(422, "a book needs firm.id (or book)", field="firm")
        if name in self.books:
            raise Refused(409, f"book {name} already exists")
        body = {k: v for k, v in doc.items() if k != "book"}
        body.setdefault("version", 1)
        body["events"] = []
        try:
            await loop.run_in_executor(None, lambda: self.store.import_document(body, f"api:{name}", name, by=by))
        except AlreadyImported:
            pass
        except ScenarioError as e:
            raise Refused(422, str(e).split(": ", 1)[-1], field=e.field) from None
        except StoreError as e:
            raise Refused(409, str(e)) from None
        b = self._book(name)
        await loop.run_in_executor(None, b.load)
        await b.start()
        self.books[name] = b
        return b


class LiveSource:
    """The live books as readers see them (``regsho.app.views.BookSource``): each view is the live engine and its
    ledger; ``updated_at`` is the time of the last event applied."""

    def __init__(self, service: LiveService) -> None:
        self.service = service

    def books(self) -> list[str]:
        return sorted(self.service.books)

    def view(self, name: str) -> BookView:
        b = self.service.books.get(name)
        if b is None:
            raise KeyError(name)
        return b.view()


# -- request helpers -----------------------------------------------------------------------------------------


class CheckRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An order to check, in the scenario's order form; ``at`` defaults to the service's clock."""

    id: sch.Text
    account: sch.Text
    symbol: sch.Text
    side: ev.Side
    qty: sch.Qty
    price: sch.Price | None = None
    nbb: sch.Price | None = None
    locate: sch.Text | None = None
    bona_fide_mm: bool | None = None
    exempt: sch.Text | None = None
    at: str | None = None
    book: str | None = None


_CHECK = msgspec.json.Decoder(CheckRequest)


def _service(request: Request) -> LiveService:
    svc: LiveService = request.app.state.service
    return svc


async def _store_read(request: Request, book: str | None, read: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """``read(store, name, *args)`` for the book named (or the only one) in a worker thread, off the event loop;
    the store unavailable is a ``Refused`` 503 like an unknown book is a ``Refused`` 404."""
    svc = _service(request)
    name = svc.book(book).name
    try:
        return name, await asyncio.get_running_loop().run_in_executor(None, read, svc.store, name, *args)
    except StoreError as e:
        raise Refused(503, str(e)) from None


def _refusal(r: Refused) -> Response:
    return Response(r.body, r.status, media_type=JSON)


def require(request: Request, action: str) -> Principal:
    p = authenticate(request)
    if p is None:
        raise HTTPException(401, "an API key is needed (X-API-Key, Authorization: Bearer, or the regsho_key cookie)",
                            headers={"WWW-Authenticate": "Bearer"})
    if not allowed(p.role, action):
        raise HTTPException(403, f"{p.name} ({p.role.value}) may not {action.replace('.', ' ')}")
    return p


def _idem(key: str | None) -> str:
    if key is None or not key.strip():
        raise Refused(400, "every write needs an Idempotency-Key header (a new random value per request; a retry "
                           "sends the same one)")
    if len(key) > MAX_KEY:
        raise Refused(400, f"the Idempotency-Key is longer than {MAX_KEY} characters")
    return key.strip()


async def _write(request: Request, op: str, payload: Any, p: Principal, key: str | None, book: str | None,
                 body: bytes) -> Response:
    svc = _service(request)
    try:
        b = svc.book(book)
        k = _idem(key)
        status, data = await b.submit(op, payload, p, k, fingerprint(request.url.path, body))
    except Refused as r:
        return _refusal(r)
    return Response(data, status, media_type=JSON)


async def _json_object(request: Request) -> tuple[dict[str, Any], bytes]:
    body = await request.body()
    try:
        obj = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError as e:
        raise Refused(422, f"the body is not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise Refused(422, "the body is a JSON object")
    return obj, body


def _event_schema(etype: str, fixed: Iterable[str] = ()) -> dict[str, Any]:
    """The request body of an event route: the scenario schema's event, ``at`` optional, ``type`` and the fields
    the path gives left out."""
    _, comps = msgspec.json.schema_components([sch.EVENT_TYPES[etype]], ref_template="#/components/schemas/{name}")
    s = dict(next(iter(comps.values())))
    drop = {"type", *fixed}
    props = {k: v for k, v in s.get("properties", {}).items() if k not in drop}
    req = [k for k in s.get("required", []) if k not in drop and k != "at"]
    props["at"] = {"type": "string", "description": "event time (ISO 8601); default: the service's clock"}
    return {"type": "object", "properties": props, "required": req, "additionalProperties": False}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {JSON: {"schema": schema}}}}


_ERR = {"description": "refused", "content": {JSON: {"schema": {"type": "object", "properties": {
    "error": {"type": "string"}}, "required": ["error"]}}}}
_WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "recorded (or the first answer to this idempotency key)"},
    400: _ERR, 401: _ERR, 403: _ERR, 404: _ERR, 409: _ERR, 422: _ERR, 503: _ERR}
_READ_RESPONSES: dict[int | str, dict[str, Any]] = {400: _ERR, 401: _ERR, 403: _ERR, 404: _ERR, 503: _ERR}

IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description="a new random value per write; a "
                                       "retry sends the same one")]
BookQ = Annotated[str | None, Query(description="the book (default: the only one)")]


def explanation(d: dict[str, Any]) -> list[str]:
    """A decision in plain words: the outcome, each reason with its meaning and detail."""
    verb = "accepted" if d["action"] == "accept" else "rejected"
    lines = [f"Order {d['order']} at {d['at']} was {verb}."]
    for code in d["reasons"]:
        r = rc.CODES.get(code)
        detail = d["details"].get(code)
        text = f"{code}: {r.meaning if r else code}" + (f" ({detail})" if detail else "")
        if r:
            text += f" [{'; '.join(r.cites)}]"
        lines.append(text)
    if d.get("locate"):
        lines.append(f"Locate used: {d['locate']}.")
    return lines


# -- the app --------------------------------------------------------------------------------------------------


def create_app(db: str | Store | LiveService, *, routers: Iterable[APIRouter] = (), **options: Any) -> FastAPI:
    """The service's FastAPI app over the store ``db`` (a path, a URL or a ``Store``). ``routers`` are included
    as they are (the dashboard's, under ``/dashboard``). ``options`` go to ``LiveService``."""
    service = db if isinstance(db, LiveService) else LiveService(db, **options)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(title="regsho", version="1", lifespan=lifespan,
                  description="The live Regulation SHO book: the pre-trade gate, locates, lists, settlement, "
                              "decisions and the audit trail.")
    app.state.service = service

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        return Response(orjson.dumps({"error": str(exc.detail)}), exc.status_code, exc.headers, media_type=JSON)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"where": ".".join(str(x) for x in e.get("loc", ())), "error": str(e.get("msg", ""))}
                  for e in exc.errors()]
        text = "; ".join(f"{e['where']}: {e['error']}" for e in errors)
        return Response(orjson.dumps({"error": f"bad request: {text}", "detail": errors}), 422, media_type=JSON)

    app.state.keyring = service.keyring
    app.state.source = LiveSource(service)
    _routes(app)
    for r in routers:
        app.include_router(r)
    _hot_routes(app, service)
    return app


_JSON_HEADERS = [(b"content-type", b"application/json")]
MAX_BODY = 64 * 1024


async def _send(send: Any, status: int, data: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*_JSON_HEADERS, (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


class HotPath:
    """The gate's route ``POST /v1/orders/check`` and the empty route ``/v1/empty`` (the benchmark's baseline)
    as plain ASGI in front of the framework: headers read from the scope, the body decoded by msgspec straight
    into the order, the answer written as bytes. Everything else goes on to the FastAPI app."""

    def __init__(self, app: Any, service: LiveService) -> None:
        self.app = app
        self.service = service
        self.ring = service.keyring

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == "/v1/orders/check" and scope["method"] == "POST":
                await self.check(scope, receive, send)
                return
            if path == "/v1/empty":
                await _send(send, 200, b"{}")
                return
        await self.app(scope, receive, send)

    async def check(self, scope: Any, receive: Any, send: Any) -> None:
        key = idem = None
        for k, v in scope["headers"]:
            if k == b"x-api-key":
                key = v.decode("latin-1")
            elif k == b"idempotency-key":
                idem = v.decode("latin-1")
        p = self.ring.principal(key) if key is not None else authenticate(HTTPConnection(scope))
        if p is None:
            await _send(send, 401, b'{"error":"an API key is needed (X-API-Key, Authorization: Bearer, or the '
                                   b'regsho_key cookie)"}')
            return
        if not allowed(p.role, "orders.check"):
            await _send(send, 403, orjson.dumps({"error": f"{p.name} ({p.role.value}) may not check orders"}))
            return
        body = b""
        more = True
        while more:
            msg = await receive()
            if msg["type"] != "http.request":
                return
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
            if len(body) > MAX_BODY:
                await _send(send, 413, b'{"error":"the order is larger than 64 KiB"}')
                return
        try:
            req = _CHECK.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError) as e:
            await _send(send, 422, orjson.dumps({"error": f"bad order: {e}"}))
            return
        try:
            book = req.book
            if book is None and scope["query_string"]:
                book = parse_qs(scope["query_string"].decode("latin-1")).get("book", [None])[0]
            b = self.service.book(book)
            status, data = await b.submit("event", req, p, _idem(idem), fingerprint("/v1/orders/check", body))
        except Refused as r:
            status, data = r.status, r.body
        await _send(send, status, data)


def _hot_routes(app: FastAPI, service: LiveService) -> None:
    app.add_middleware(HotPath, service=service)
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = base()
        _, comps = msgspec.json.schema_components([CheckRequest], ref_template="#/components/schemas/{name}")
        schema.setdefault("components", {}).setdefault("schemas", {}).update(comps)
        schema["paths"]["/v1/orders/check"] = {"post": {
            "summary": "Check an order (the pre-trade gate): the decision with reasons, citations, facts and the "
                       "locate used",
            "operationId": "check_order",
            "parameters": [{"name": "Idempotency-Key", "in": "header", "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY}},
                           {"name": "book", "in": "query", "required": False, "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {JSON: {"schema": {
                "$ref": "#/components/schemas/CheckRequest"}}}},
            "responses": {str(k): v for k, v in _WRITE_RESPONSES.items()},
        }}
        schema["paths"]["/v1/empty"] = {"get": {"summary": "An empty answer (the benchmark's baseline)",
                                               "operationId": "empty", "responses": {"200": {
                                                   "description": "{}"}}}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _routes(app: FastAPI) -> None:
    r = APIRouter()

    @r.get("/health", responses={503: _ERR})
    async def health(request: Request) -> JSONResponse:
        """Healthy only while every book can take writes and the store can be written."""
        problems = _service(request).problems()
        if problems:
            return JSONResponse({"status": "unhealthy", "problems": problems}, 503)
        return JSONResponse({"status": "ok"})

    @r.get("/ready", responses={503: _ERR})
    async def ready(request: Request) -> JSONResponse:
        """Ready once every book is loaded and the store can be written."""
        svc = _service(request)
        problems = svc.problems()
        if problems:
            return JSONResponse({"ready": False, "problems": problems}, 503)
        return JSONResponse({"ready": True, "process_cpu_seconds": round(time.process_time(), 3), "books": {n: {
            "events": b.state.events if b.state else 0, "loaded": b.loaded.how if b.loaded else None,
            "load_seconds": round(b.loaded.seconds, 3) if b.loaded else None,
            "load_cpu_seconds": round(b.loaded.cpu_seconds, 3) if b.loaded else None, "batches": b.batches,
            "records": b.committed, "apply_cpu_seconds": round(b.apply_cpu, 3),
            "write_cpu_seconds": round(b.write_cpu, 3), "write_seconds": round(b.write_wall, 3)}
            for n, b in svc.books.items()}})

    # -- books -------------------------------------------------------------------------------------------

    @r.get("/v1/books", responses=_READ_RESPONSES)
    async def books(request: Request) -> dict[str, Any]:
        require(request, "decisions.read")
        svc = _service(request)
        return {"books": [{"name": n, "firm": b.state.engine.book.firm.id if b.state else None,
                           "events": b.state.events if b.state else 0, "failed": b.failed}
                          for n, b in sorted(svc.books.items())]}

    @r.post("/v1/books", responses=_WRITE_RESPONSES, openapi_extra=_body({"type": "object", "properties": {
        "book": {"type": "string"}, "name": {"type": "string"},
        "firm": {"type": "object"}, "securities": {"type": "object"}, "accounts": {"type": "object"}},
        "required": ["firm", "securities", "accounts"]}))
    async def create_book(request: Request, idempotency_key: IdemKey = None) -> Response:
        """Open a new live book from a scenario header (firm, securities, accounts)."""
        p = require(request, "books.create")
        try:
            _idem(idempotency_key)
            doc, _ = await _json_object(request)
            b = await _service(request).create_book(doc, f"{p.name} ({p.role.value})")
        except Refused as e:
            return _refusal(e)
        return JSONResponse({"book": b.name, "events": b.state.events if b.state else 0})

    # -- events: one route per kind ------------------------------------------------------------------------

    def event_route(path: str, etype: str, action: str, summary: str, fixed: tuple[str, ...] = ()) -> None:
        async def handler(request: Request, idempotency_key: IdemKey = None, book: BookQ = None) -> Response:
            p = require(request, action)
            try:
                obj, body = await _json_object(request)
            except Refused as e:
                return _refusal(e)
            for f in fixed:
                obj[f] = request.path_params[f]
            obj["type"] = etype
            return await _write(request, "event", obj, p, idempotency_key, book, body)

        handler.__doc__ = summary
        r.add_api_route(path, handler, methods=["POST"], summary=summary, responses=_WRITE_RESPONSES,
                        openapi_extra=_body(_event_schema(etype, fixed)), name=f"post_{etype}_{len(fixed)}")

    event_route("/v1/orders/{order}/fill", "fill", "orders.fill", "Record a fill of an order", ("order",))
    event_route("/v1/orders/{order}/cancel", "cancel", "orders.cancel", "Cancel the open rest of an order",
                ("order",))
    event_route("/v1/locates", "locate", "locates.grant", "Grant a locate")
    event_route("/v1/pre-borrows", "pre_borrow", "locates.grant", "Record a pre-borrow")
    event_route("/v1/lists/etb", "etb_list", "lists.upload", "Upload the easy-to-borrow list")
    event_route("/v1/lists/htb", "htb_list", "lists.upload", "Upload the hard-to-borrow list")
    event_route("/v1/lists/threshold", "threshold_list", "lists.upload", "Upload the threshold securities list")
    event_route("/v1/lists/ssr", "ssr", "lists.upload", "Record a Rule 201 trigger")
    event_route("/v1/positions", "position", "settlement.write", "Set an account's position")
    event_route("/v1/fails", "fail", "settlement.write", "Record a fail to deliver")
    event_route("/v1/cns", "cns", "settlement.write", "Record a CNS fail position")
    event_route("/v1/close-outs", "close_out", "settlement.write", "Record a close-out")
    event_route("/v1/allocations", "allocate", "settlement.write", "Allocate an obligation to a correspondent")
    event_route("/v1/certifications", "certify", "settlement.write", "Record a 204(e)/(f) certification")
    event_route("/v1/attestations", "attestation", "settlement.write", "Record a 204T attestation")
    event_route("/v1/pre-borrow-required", "pre_borrow_required", "settlement.write",
                "Record a pre-borrow requirement (e.g. from a clearing firm's 204(c) notice)")
    event_route("/v1/market-making/status", "mm_status", "surveillance.write", "Record market-maker status")
    event_route("/v1/market-making/verdicts", "mm_verdict", "surveillance.write",
                "Record a market-making surveillance verdict")

    @r.post("/v1/lists/{kind}/file", responses=_WRITE_RESPONSES, openapi_extra={"requestBody": {
        "required": True, "content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary"}, "at": {"type": "string"}}, "required": ["file"]}}}}})
    async def upload_list(request: Request, kind: Annotated[str, Path(pattern="^(etb|htb|threshold)$")],
                          idempotency_key: IdemKey = None, book: BookQ = None) -> Response:
        """Upload a list as a text file: symbols separated by spaces, commas or new lines; '#' starts a comment;
        a first line 'Symbol|...' (an SRO file's header) is skipped and only each line's first field is read."""
        p = require(request, "lists.upload")
        try:
            form = await request.form()
        except Exception as e:  # a malformed multipart body
            return _refusal(Refused(422, f"not a form upload: {e}"))
        f = form.get("file")
        if f is None or isinstance(f, str):
            return _refusal(Refused(422, "no file in the upload (field 'file')", field="file"))
        raw = await f.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return _refusal(Refused(422, f"{f.filename}: not UTF-8 text", field="file"))
        symbols = _symbols_of(text)
        at = form.get("at")
        obj: dict[str, Any] = {"type": f"{kind}_list", "symbols": symbols}
        if isinstance(at, str) and at:
            obj["at"] = at
        return await _write(request, "event", obj, p, idempotency_key, book, raw + str(at).encode())

    @r.post("/v1/events", responses=_WRITE_RESPONSES, openapi_extra=_body({"type": "object", "properties": {
        "type": {"type": "string", "enum": sorted(sch.EVENT_TYPES)}}, "required": ["type"]}))
    async def any_event(request: Request, idempotency_key: IdemKey = None, book: BookQ = None) -> Response:
        """Record any event in scenario form (the role needed depends on its type)."""
        try:
            obj, body = await _json_object(request)
        except Refused as e:
            return _refusal(e)
        action = EVENT_ACTIONS.get(str(obj.get("type")))
        if action is None:
            require(request, "decisions.read")
            return _refusal(Refused(422, f"unknown event type {obj.get('type')!r} (known: "
                                         f"{', '.join(sorted(EVENT_ACTIONS))})", field="type"))
        p = require(request, action)
        if obj.get("type") == "locate_release":
            try:
                _release_by(obj, p)
            except Refused as e:
                return _refusal(e)
        return await _write(request, "event", obj, p, idempotency_key, book, body)

    # -- overrides and corrections ------------------------------------------------------------------------

    @r.post("/v1/orders/{order}/override", responses=_WRITE_RESPONSES, openapi_extra=_body({
        "type": "object", "properties": {"reason": {"type": "string", "minLength": 1}}, "required": ["reason"]}))
    async def override(request: Request, order: str, idempotency_key: IdemKey = None,
                       book: BookQ = None) -> Response:
        """Ask to override a rejected order (compliance); it takes effect once a second approver approves it."""
        p = require(request, "orders.override")
        try:
            obj, body = await _json_object(request)
            reason = obj.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise Refused(422, "say why the rejection is overridden (reason)", field="reason")
        except Refused as e:
            return _refusal(e)
        return await _write(request, "override", {"order": order, "reason": reason.strip()}, p, idempotency_key,
                            book, body)

    @r.post("/v1/orders/{order}/override/approve", responses=_WRITE_RESPONSES)
    async def approve(request: Request, order: str, idempotency_key: IdemKey = None,
                      book: BookQ = None) -> Response:
        """Approve an override as the second approver (compliance or admin, not the one who asked)."""
        p = require(request, "orders.approve_override")
        return await _write(request, "approve", {"order": order}, p, idempotency_key, book, b"")

    @r.post("/v1/records/{seq}/correct", responses=_WRITE_RESPONSES, openapi_extra=_body({
        "type": "object", "properties": {
            "event": {"type": "object", "description": "the fields of the event that change (scenario form); a "
                                                       "null removes a field; the rest stay as recorded"},
            "why": {"type": "string", "minLength": 1}},
        "required": ["event", "why"], "additionalProperties": False}))
    async def correct_record(request: Request, seq: Annotated[int, Path(ge=1)], idempotency_key: IdemKey = None,
                             book: BookQ = None) -> Response:
        """Correct a recorded event (operations, compliance, admin): a new record pointing at the original, with
        who and why; the book is replayed with the correction before anything is written, and the answer says
        which decisions, obligations and locates the correction changed."""
        p = require(request, "records.amend")
        try:
            obj, body = await _json_object(request)
            _only(obj, ("event", "why"))
            why = _why(obj)
            event = obj.get("event")
            if not isinstance(event, dict) or not event:
                raise Refused(422, "event: the fields of the event that change, as an object", field="event")
        except Refused as e:
            return _refusal(e)
        return await _write(request, "amend", {"seq": seq, "event": event, "why": why}, p, idempotency_key, book,
                            body)

    @r.post("/v1/records/{seq}/void", responses=_WRITE_RESPONSES, openapi_extra=_body({
        "type": "object", "properties": {"why": {"type": "string", "minLength": 1}}, "required": ["why"],
        "additionalProperties": False}))
    async def void_record(request: Request, seq: Annotated[int, Path(ge=1)], idempotency_key: IdemKey = None,
                          book: BookQ = None) -> Response:
        """Cancel a recorded event (operations, compliance, admin): it is left out of the book from then on, the
        original stays in the log; the answer says what the cancellation changed."""
        p = require(request, "records.amend")
        try:
            obj, body = await _json_object(request)
            _only(obj, ("why",))
            why = _why(obj)
        except Refused as e:
            return _refusal(e)
        return await _write(request, "amend", {"seq": seq, "event": None, "why": why}, p, idempotency_key, book,
                            body)

    @r.get("/v1/records/{seq}", responses=_READ_RESPONSES)
    async def record(request: Request, seq: Annotated[int, Path(ge=1)], book: BookQ = None) -> Any:
        """One record of the book as recorded; for an event, its status (in force, corrected, voided), its
        corrections and cancellations, and the event in force now."""
        require(request, "records.read")
        try:
            name, out = await _store_read(request, book, record_json, seq)
        except Refused as e:
            return _refusal(e)
        if out is None:
            return _refusal(Refused(404, f"no record {seq} in book {name}"))
        return out

    @r.get("/v1/orders/{order}/records", responses=_READ_RESPONSES)
    async def records_of_order(request: Request, order: str, book: BookQ = None) -> Any:
        """The event records of an order (the order, its fills and cancels), with their seqs and status: what
        ``/v1/records/{seq}/correct`` and ``/void`` name."""
        require(request, "records.read")
        try:
            name, out = await _store_read(request, book, order_records, order)
        except Refused as e:
            return _refusal(e)
        if not out:
            return _refusal(Refused(404, f"no order {order} in book {name}"))
        return {"book": name, "order": order, "records": out}

    # -- locates ------------------------------------------------------------------------------------------

    @r.post("/v1/locates/requests", responses=_WRITE_RESPONSES, openapi_extra=_body({
        "type": "object", "properties": {"id": {"type": "string", "minLength": 1, "maxLength": 200},
                                         "account": {"type": "string"}, "symbol": {"type": "string"},
                                         "qty": {"type": "integer", "minimum": 1}},
        "required": ["id", "account", "symbol", "qty"], "additionalProperties": False}))
    async def locate_request(request: Request, idempotency_key: IdemKey = None, book: BookQ = None) -> Response:
        """Ask the locate desk for a locate; the desk grants it with the same id (POST /v1/locates)."""
        p = require(request, "locates.request")
        try:
            obj, body = await _json_object(request)
            b = _service(request).book(book)
            st = b._ready_state()
            req = _locate_request(obj, st.engine.book.accounts, st.engine.book.securities)
        except Refused as e:
            return _refusal(e)
        return await _write(request, "request", req, p, idempotency_key, book, body)

    @r.post("/v1/locates/{locate}/release", responses=_WRITE_RESPONSES,
            openapi_extra=_body(_event_schema("locate_release", ("id", "by"))))
    async def locate_release(request: Request, locate: str, idempotency_key: IdemKey = None,
                             book: BookQ = None) -> Response:
        """Return unused shares of a locate to the locate desk (all that is unused unless ``qty`` says how many):
        they cover no short sale again; what short sales consumed stays theirs. Recorded as by the key's holder."""
        p = require(request, "locates.release")
        try:
            obj, body = await _json_object(request)
            _release_by(obj, p)
        except Refused as e:
            return _refusal(e)
        obj.update(type="locate_release", id=locate)
        return await _write(request, "event", obj, p, idempotency_key, book, body)

    @r.get("/v1/locates/requests", responses=_READ_RESPONSES)
    async def locate_requests(request: Request, book: BookQ = None) -> Any:
        require(request, "locates.read")
        try:
            st = _service(request).book(book)._ready_state()
        except Refused as e:
            return _refusal(e)
        locs = st.engine.gate.snap.locates
        return {"requests": [{**q, "status": "granted" if q["id"] in locs else q["status"]}
                             for q in st.requests.values()]}

    @r.get("/v1/locates", responses=_READ_RESPONSES)
    async def locates(request: Request, book: BookQ = None, symbol: str | None = None,
                      account: str | None = None) -> Any:
        """Every locate with its usage."""
        require(request, "locates.read")
        try:
            st = _service(request).book(book)._ready_state()
        except Refused as e:
            return _refusal(e)
        return {"locates": [locate_json(x) for x in st.engine.gate.snap.locates.values()
                            if (symbol is None or x.symbol == symbol) and (account is None or x.account == account)]}

    @r.get("/v1/locates/{locate}", responses=_READ_RESPONSES)
    async def locate_usage(request: Request, locate: str, book: BookQ = None) -> Any:
        """One locate: granted, consumed by short sales, freed, left."""
        require(request, "locates.read")
        try:
            st = _service(request).book(book)._ready_state()
        except Refused as e:
            return _refusal(e)
        x = st.engine.gate.snap.locates.get(locate)
        if x is None:
            return _refusal(Refused(404, f"no locate {locate}"))
        return locate_json(x)

    # -- records the engine made ----------------------------------------------------------------------------

    def ledger_route(path: str, action: str, what: str) -> None:
        async def handler(request: Request, book: BookQ = None, status: str | None = None,
                          due_before: str | None = None, symbol: str | None = None) -> Any:
            require(request, action)
            try:
                st = _service(request).book(book)._ready_state()
            except Refused as e:
                return _refusal(e)
            led = st.ledger
            if what == "obligations":
                items = [rj.obligation_json(o) for o in led.obligations]
                if status is not None:
                    items = [o for o in items if o["status"] == status]
                if due_before is not None:
                    items = [o for o in items if o["deadline"] < due_before]
            elif what == "pre_borrow":
                items = [rj.period_json(x) for x in led.periods]
            elif what == "notices":
                items = [rj.notice_json(x) for x in led.notices]
            else:
                items = [rj.finding_json(x) for x in led.findings]
            if symbol is not None:
                items = [x for x in items if x.get("symbol") == symbol]
            return {what: items}

        r.add_api_route(path, handler, methods=["GET"], responses=_READ_RESPONSES, name=f"get_{what}")

    ledger_route("/v1/obligations", "settlement.read", "obligations")
    ledger_route("/v1/pre-borrow", "settlement.read", "pre_borrow")
    ledger_route("/v1/notices", "settlement.read", "notices")
    ledger_route("/v1/findings", "records.read", "findings")

    @r.get("/v1/decisions", responses=_READ_RESPONSES)
    async def decisions(request: Request, book: BookQ = None,
                        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
                        offset: Annotated[int, Query(ge=0)] = 0) -> Any:
        """Decisions, newest first."""
        require(request, "decisions.read")
        try:
            st = _service(request).book(book)._ready_state()
        except Refused as e:
            return _refusal(e)
        ds = st.ledger.decisions
        end = max(0, len(ds) - offset)
        picked = ds[max(0, end - limit):end][::-1]
        return {"total": len(ds), "decisions": [_decision_out(st, d) for d in picked]}

    @r.get("/v1/decisions/{order}", responses=_READ_RESPONSES)
    async def decision(request: Request, order: str, book: BookQ = None) -> Any:
        """One decision with its explanation, who submitted the order, and any override."""
        require(request, "decisions.read")
        try:
            st = _service(request).book(book)._ready_state()
        except Refused as e:
            return _refusal(e)
        d = st.ledger.decision(order)
        if d is None:
            return _refusal(Refused(404, f"no decision on order {order}"))
        return _decision_out(st, d, explain=True)

    # -- the audit trail ----------------------------------------------------------------------------------

    @r.get("/v1/audit/verify", responses=_READ_RESPONSES)
    async def audit_verify(request: Request) -> Any:
        """Walk the whole chain from the first record (and against the signed checkpoint, if configured)."""
        require(request, "audit.read")
        svc = _service(request)
        try:
            res = await asyncio.get_running_loop().run_in_executor(None, svc.store.verify)
        except StoreError as e:
            return _refusal(Refused(503, str(e)))
        return {"ok": res.ok, "records": res.records, "message": res.message, "head": {
            "seq": res.head.seq, "hash": res.head.hash},
            "problems": [{"seq": p.seq, "what": p.what} for p in res.problems]}

    @r.get("/v1/audit/export", responses=_READ_RESPONSES)
    async def audit_export(request: Request, book: BookQ = None) -> Any:
        """Every record of the book in the order written, with what later happened to each."""
        require(request, "audit.read")
        try:
            name, hist = await _store_read(request, book, Store.history)
        except Refused as e:
            return _refusal(e)
        return {"book": name, "records": hist}

    app.include_router(r)


EVENT_ACTIONS: dict[str, str] = {
    "order": "orders.check", "fill": "orders.fill", "cancel": "orders.cancel", "locate": "locates.grant",
    "locate_release": "locates.release",
    "pre_borrow": "locates.grant", "etb_list": "lists.upload", "htb_list": "lists.upload",
    "threshold_list": "lists.upload", "ssr": "lists.upload", "position": "settlement.write",
    "fail": "settlement.write", "cns": "settlement.write", "close_out": "settlement.write",
    "allocate": "settlement.write", "certify": "settlement.write", "attestation": "settlement.write",
    "pre_borrow_required": "settlement.write", "mm_status": "surveillance.write",
    "mm_verdict": "surveillance.write",
}


def _symbols_of(text: str) -> list[str]:
    out: list[str] = []
    for n, line in enumerate(text.splitlines()):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if "|" in line:
            first = line.split("|", 1)[0].strip()
            if n == 0 and first.lower() == "symbol":
                continue
            if first:
                out.append(first)
            continue
        out.extend(s for s in line.replace(",", " ").split() if s)
    return out


def _locate_request(obj: dict[str, Any], accounts: Any, securities: Any) -> dict[str, Any]:
    extra = set(obj) - {"id", "account", "symbol", "qty"}
    if extra:
        raise Refused(422, f"unknown field(s) {', '.join(sorted(extra))}", field=sorted(extra)[0])
    for f in ("id", "account", "symbol"):
        if not isinstance(obj.get(f), str) or not obj[f].strip() or len(obj[f]) > MAX_KEY:
            raise Refused(422, f"{f}: expected text", field=f)
    q = obj.get("qty")
    if not isinstance(q, int) or isinstance(q, bool) or q <= 0:
        raise Refused(422, "qty: expected a positive whole number", field="qty")
    if obj["account"] not in accounts:
        raise Refused(422, f"unknown account {obj['account']!r}", field="account")
    if obj["symbol"] not in securities:
        raise Refused(422, f"unknown symbol {obj['symbol']!r}", field="symbol")
    return {"id": obj["id"], "account": obj["account"], "symbol": obj["symbol"], "qty": q}


def _only(obj: dict[str, Any], fields: tuple[str, ...]) -> None:
    extra = sorted(set(obj) - set(fields))
    if extra:
        raise Refused(422, f"unknown field(s) {', '.join(extra)} (expected: {', '.join(fields)})", field=extra[0])


def _why(obj: dict[str, Any]) -> str:
    why = obj.get("why")
    if not isinstance(why, str) or not why.strip():
        raise Refused(422, "say why (why): a correction or cancellation is recorded with its reason", field="why")
    return why.strip()


def _release_by(obj: dict[str, Any], p: Principal) -> None:
    """A release is recorded as by the principal that submits it (``by``); a different ``by`` is refused."""
    by = who(p)
    given = obj.get("by")
    if given is not None and given != by:
        raise Refused(422, f"by: a release is recorded as by its submitter ({by}), not {str(given)[:40]!r}",
                      field="by")
    obj["by"] = by


def _decision_out(st: Any, d: Any, explain: bool = False) -> dict[str, Any]:
    out = rj.decision_json(d)
    out["submitted_by"] = st.submitted.get(d.order)
    ov = st.overrides.get(d.order)
    out["override"] = ov
    if explain:
        lines = explanation(out)
        if ov is not None:
            if ov["status"] == "approved":
                lines.append(f"Overridden: requested by {ov['requested_by']} at {ov['requested_at']} and approved "
                             f"by {ov['approved_by']} at {ov['approved_at']}; reason: {ov['reason']}.")
            else:
                lines.append(f"Override requested by {ov['requested_by']} at {ov['requested_at']} (reason: "
                             f"{ov['reason']}), awaiting a second approver.")
        out["explanation"] = lines
    return out


Factory = Callable[..., FastAPI]
