"""The lab's ASGI app (Starlette): the page, its static files, and the JSON API of ``docs/lab-api.md``.

The client never names a file: the runs are fixed when the app is made, samples are chosen from a fixed list,
and the static files are the package's own few, listed when the app is made. Every error is JSON,
``{"error": "one line"}``, with a 4xx status; the app keeps answering after any of them. Inference runs in a
worker thread, so that the event loop keeps answering while a model computes.

What one request may cost is bounded: its head (:data:`MAX_HEAD` bytes), its query (:data:`MAX_QUERY`
characters, each key once), its body
(``max_upload`` bytes, and :data:`MAX_RECEIVING` for all bodies being received at once), the pixels decoded and
the feature maps answered (:mod:`cnnlab.lab.session`). A client that leaves mid-request is not an error: the
lab drops the request without a word. Timeouts and the number of connections are the server's
(:mod:`cnnlab.lab.server`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from cnnlab.errors import expected_whole_number, read_whole_number, whole_number
from cnnlab.lab.session import LabError, LabModel, Sample, published_page, samples

__all__ = ["MAX_HEAD", "MAX_QUERY", "MAX_RECEIVING", "MAX_UPLOAD", "STATIC", "create_app"]

STATIC = Path(__file__).parent / "static"
PUBLISHED_STATIC = Path(__file__).parent.parent / "publish" / "static"
"""The published page's files: the lab serves six of them, ``draw.js``, ``pad.js``, ``explain_unit.js`` and
``explain.css`` (the drawing, the drawing pad, a unit's arithmetic and its panel's style, shared by both pages) and
``forward.js`` and ``prepare.js`` (the browser's forward pass, which the arithmetic reads)."""
MAX_UPLOAD = 8 * 2**20
"""Bytes an uploaded image may have (8 MB); more gets 413."""

MAX_HEAD = 16 * 1024
"""Bytes of a request's path, query and headers the lab reads; more gets 431 (the server refuses a longer head
that arrives in pieces before the app sees it: :data:`cnnlab.lab.server.MAX_HEAD`)."""

MAX_QUERY = 12 * 1024
"""Characters a request's query may have: every layer of the largest registered model fits twice over."""

MAX_RECEIVING = 64 * 2**20
"""Bytes of upload the lab holds at once, over all requests (at least twice ``max_upload``); more gets 503."""


def _error(message: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": " ".join(message.split())}, status_code=status, headers=headers)


class _Lab:
    """The app's state: the models by name, the samples, the upload limits and what is being received."""

    def __init__(self, models: Sequence[LabModel], max_upload: int) -> None:
        if not models:
            raise ValueError("the lab needs at least one run or model to serve")
        whole_number("max_upload", max_upload)
        self.models = {model.name: model for model in models}
        self.max_upload = max_upload
        self.max_receiving = max(MAX_RECEIVING, 2 * max_upload)
        self.receiving = 0  # bytes of the bodies being received now (one event loop: no lock)
        self._samples: dict[str, Sample] | None = None
        self._samples_lock = threading.Lock()
        self._page: tuple[bytes, str] | LabError | None = None
        self._page_lock = threading.Lock()

    def page(self) -> tuple[bytes, str]:
        """The published page of the lab's networks and its file's name, built once, on first use, in memory
        (seconds); a refusal is remembered too."""
        with self._page_lock:
            if self._page is None:
                try:
                    self._page = published_page(list(self.models.values()))
                except LabError as error:
                    self._page = error
        if isinstance(self._page, LabError):
            raise self._page
        return self._page

    def samples(self) -> dict[str, Sample]:
        """The samples by name, and by their former names (a name wins over an alias). Made once, on first use
        (seconds: a dataset and two photos are read), by the first request's worker thread while the others wait."""
        with self._samples_lock:
            if self._samples is None:
                found = samples()
                by_name = {alias: sample for sample in found for alias in sample.aliases}
                self._samples = by_name | {sample.name: sample for sample in found}
        return self._samples

    def model(self, request: Request) -> LabModel:
        name = request.query_params.get("model")
        if name is None:
            if len(self.models) == 1:
                return next(iter(self.models.values()))
            raise LabError(f"which model? give model= one of {', '.join(self.models)}", 422)
        if name not in self.models:
            raise LabError(f"no model {name!r} is loaded; loaded: {', '.join(self.models)}", 404)
        return self.models[name]

    @staticmethod
    def whole_number(request: Request, key: str, default: int | None = None, minimum: int = 0) -> int:
        text = request.query_params.get(key)
        if text is None:
            if default is None:
                raise LabError(f"{key}= is missing: expected {expected_whole_number(minimum)}", 422)
            return default
        try:
            return read_whole_number(text, minimum=minimum)
        except ValueError as error:
            raise LabError(f"{key}: {error}", 422) from None

    @staticmethod
    def switch(request: Request, key: str, default: bool, on: str, off: str) -> bool:
        """``KEY=1`` or ``KEY=0`` (``on`` and ``off`` say what each means in the error)."""
        text = request.query_params.get(key, "1" if default else "0")
        if text not in ("0", "1"):
            raise LabError(f"{key}: expected 1 ({on}) or 0 ({off}), got {text!r:.40}", 422)
        return text == "1"

    @staticmethod
    def centre(request: Request) -> bool:
        """``centre=1`` (the default) or ``centre=0``: a digit centred the MNIST way, or left where it was drawn."""
        return _Lab.switch(request, "centre", True, "centre the digit", "as drawn")

    @asynccontextmanager
    async def upload(self, request: Request) -> AsyncIterator[bytes]:
        """The request's body, refused with 413 as soon as it passes the limit (the rest is never read) and with
        503 while the bodies being received pass :attr:`max_receiving`; it counts as received until the block
        ends (its bytes are held until then)."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind.startswith("multipart/"):
            raise LabError(f"the body is a {kind} form; send the image file's bytes as the body itself "
                           "(docs/lab-api.md shows how)", 415)  # fmt: skip
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_upload:
            raise LabError(f"the upload has {int(declared):,} bytes; at most {self.max_upload:,} are accepted", 413)
        held = 0
        try:
            received = bytearray()
            async for chunk in request.stream():
                if self.receiving + len(chunk) > self.max_receiving:
                    raise LabError(
                        f"the lab is receiving {self.max_receiving:,} bytes of uploads at once; try again in a moment",
                        503,
                    )
                self.receiving += len(chunk)
                held += len(chunk)
                received += chunk
                if len(received) > self.max_upload:
                    raise LabError(f"the upload has more than {self.max_upload:,} bytes; at most that is accepted",
                                   413)  # fmt: skip
            yield bytes(received)
        finally:
            self.receiving -= held


Handler = Callable[[Request], Awaitable[Response]]
Answer = Callable[["_Lab", Request], Awaitable[Any]]

_API: list[tuple[str, Answer, list[str]]] = []
"""The JSON endpoints (``docs/lab-api.md``): path, what answers it, its methods. An endpoint is declared once, by
:func:`_api` above the function that answers it."""


def _api(path: str, *methods: str) -> Callable[[Answer], Answer]:
    def declare(answer: Answer) -> Answer:
        _API.append((path, answer, list(methods or ("GET",))))
        return answer

    return declare


def _check_query(request: Request) -> None:
    """A query of at most :data:`MAX_QUERY` characters that gives each key once (414, 422)."""
    length = len(request.scope["query_string"])
    if length > MAX_QUERY:
        raise LabError(f"the query has {length:,} characters; at most {MAX_QUERY:,} are read", 414)
    repeated = [
        key for key, count in Counter(key for key, _ in request.query_params.multi_items()).items() if count > 1
    ]
    if repeated:
        raise LabError(f"{repeated[0]}= is given more than once; give it once", 422)


class _Disconnected(Response):
    """What a request whose client left gets: nothing (the server drops it; nobody reads it)."""

    def __init__(self) -> None:
        super().__init__(status_code=400)


def _answers(handler: Answer, lab: _Lab) -> Handler:
    """An endpoint that answers JSON, any :class:`LabError` as ``{"error": ...}`` with its status, and a client
    that left without a word."""

    async def endpoint(request: Request) -> Response:
        try:
            _check_query(request)
            return JSONResponse(await handler(lab, request))
        except LabError as error:
            return _error(str(error), error.status)
        except ClientDisconnect:
            return _Disconnected()

    return endpoint


@_api("/api/models")
async def _models(lab: _Lab, request: Request) -> Any:
    return {"models": [model.describe() for model in lab.models.values()]}


@_api("/api/predict", "POST")
async def _predict(lab: _Lab, request: Request) -> Any:
    model = lab.model(request)
    k = lab.whole_number(request, "k", 5, minimum=1)
    centre = lab.centre(request)
    async with lab.upload(request) as data:
        return await run_in_threadpool(model.predict, data, k, centre)


def _layer_names(request: Request) -> list[str] | None:
    """``layers=A,B``: the names, ``None`` for the default; a name given twice counts once (the session drops
    repeats, and refuses more names than a request may ask for)."""
    text = request.query_params.get("layers")
    if text in (None, "", "default"):
        return None
    return [name for name in text.split(",") if name]


@_api("/api/inspect", "POST")
async def _inspect(lab: _Lab, request: Request) -> Any:
    model = lab.model(request)
    k = lab.whole_number(request, "k", 5, minimum=1)
    layers = _layer_names(request)
    centre = lab.centre(request)
    async with lab.upload(request) as data:
        return await run_in_threadpool(model.inspect, data, layers, k, centre)


@_api("/api/saliency", "POST")
async def _saliency(lab: _Lab, request: Request) -> Any:
    model = lab.model(request)
    query = request.query_params
    method, target, layer = model.saliency_request(query.get("method", "gradient"), query.get("target"),
                                                   query.get("layer"))  # fmt: skip
    compare = lab.switch(request, "compare_random", False, "beside the random-weights twin", "alone")
    centre = lab.centre(request)
    async with lab.upload(request) as data:
        return await run_in_threadpool(model.saliency, data, method, target, layer, compare, centre)


@_api("/api/field")
async def _field(lab: _Lab, request: Request) -> Any:
    model = lab.model(request)
    layer = request.query_params.get("layer")
    if not layer:
        raise LabError("layer= is missing: which layer's unit?", 422)
    y, x = lab.whole_number(request, "y"), lab.whole_number(request, "x")
    return model.field(layer, y, x)


@_api("/api/program")
async def _program(lab: _Lab, request: Request) -> Any:
    model = lab.model(request)
    return await run_in_threadpool(model.program)


@_api("/api/samples")
async def _samples(lab: _Lab, request: Request) -> Any:
    found = await run_in_threadpool(lab.samples)
    listed = {sample.name: sample for sample in found.values()}  # each once, under its name
    return {"samples": [{"name": s.name, "label": s.label, "url": f"/api/samples/{s.name}"} for s in listed.values()]}


class _Door:
    """Lets in requests whose head has at most :data:`MAX_HEAD` bytes (others get 431) and, where ``allowed`` is
    given, whose ``Host`` is one of those names, any port (others get 400); each refusal one JSON line."""

    def __init__(self, app: ASGIApp, allowed: Sequence[str] | None) -> None:
        self.app = app
        self.allowed = {host.lower().strip("[]") for host in allowed} if allowed else None

    def _refusal(self, scope: Scope) -> JSONResponse | None:
        headers = scope["headers"]
        size = len(scope.get("raw_path", b"")) + len(scope["query_string"]) + sum(len(k) + len(v) for k, v in headers)
        if size > MAX_HEAD:
            return _error(f"the request's head has {size:,} bytes; at most {MAX_HEAD:,} are read", 431)
        if self.allowed is None:
            return None
        header = next((value for key, value in headers if key == b"host"), b"")
        text = header.decode("latin-1").strip().lower()
        host = text[1:].partition("]")[0] if text.startswith("[") else text.partition(":")[0]
        if host in self.allowed:
            return None
        shown = " and ".join(sorted(self.allowed))
        return _error(f"this lab answers requests addressed to {shown} only, not {text or 'no Host'!r}", 400)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._refusal(scope) if scope["type"] == "http" else None
        await (refusal or self.app)(scope, receive, send)


def create_app(
    models: Sequence[LabModel], *, max_upload: int = MAX_UPLOAD, allowed_hosts: Sequence[str] | None = None
) -> ASGIApp:
    """The lab's app for ``models``.

    Args:
        models: what it serves (:func:`cnnlab.lab.session.load_models`).
        max_upload: bytes an upload may have.
        allowed_hosts: the ``Host`` headers it answers (``None``: any). A lab on 127.0.0.1 answers only
            ``localhost`` and ``127.0.0.1``, so that a web page elsewhere cannot reach it through a DNS name that
            points at this machine.
    """
    lab = _Lab(models, max_upload)
    static = {path.name: path for path in STATIC.iterdir() if path.is_file()}  # the only files it opens
    # what both pages share (the published page inlines them): the drawing, the pad, a unit's arithmetic and its
    # panel's style, the forward pass and the image's preparation (the lab uses its normalize) that the arithmetic is
    # computed with
    for name in ("draw.js", "pad.js", "explain_unit.js", "explain.css", "forward.js", "prepare.js"):
        static[name] = PUBLISHED_STATIC / name

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def static_file(request: Request) -> Response:
        path = static.get(request.path_params["name"])
        if path is None:
            return _error(f"Not Found: {request.method} {request.url.path}", 404)
        return FileResponse(path, headers={"Cache-Control": "no-cache"})

    async def sample(request: Request) -> Response:
        found = (await run_in_threadpool(lab.samples)).get(request.path_params["name"])
        if found is None:
            return _error(f"no sample {request.path_params['name']!r}; see /api/samples", 404)
        return Response(found.data, media_type=found.media_type)

    async def refused(request: Request, error: Exception) -> Response:
        status = error.status_code if isinstance(error, HTTPException) else 500
        detail = error.detail if isinstance(error, HTTPException) else "the lab failed to answer this request"
        headers = error.headers if isinstance(error, HTTPException) else None
        return _error(f"{detail}: {request.method} {request.url.path}", status, headers)

    async def page(request: Request) -> Response:
        try:
            _check_query(request)
            data, filename = await run_in_threadpool(lab.page)
        except LabError as error:
            return _error(str(error), error.status)
        disposition = f'attachment; filename="{filename}"'
        return Response(data, media_type="text/html; charset=utf-8", headers={"Content-Disposition": disposition})

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)  # browsers ask for one; the lab has none, and says so without a 404

    routes = [
        Route("/", index),
        Route("/favicon.ico", no_icon),
        *(Route(path, _answers(answer, lab), methods=methods) for path, answer, methods in _API),
        Route("/api/samples/{name}", sample),
        Route("/api/page", page),
        Route("/static/{name}", static_file),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: refused, Exception: refused})
    return _Door(app, allowed_hosts)
