"""The lab's ASGI app (Starlette): the page, its static files, and the JSON API of ``docs/lab-api.md``.

The client never names a file: the runs are fixed when the app is made, samples are chosen from a fixed list,
and static files come from the package's own folder. Every error is JSON, ``{"error": "one line"}``, with a
4xx status; the app keeps answering after any of them. Inference runs in a worker thread, so that the event
loop keeps answering while a model computes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from cnnlab.errors import expected_whole_number, read_whole_number
from cnnlab.lab.session import LabError, LabModel, Sample, samples

__all__ = ["MAX_UPLOAD", "STATIC", "create_app"]

STATIC = Path(__file__).parent / "static"
MAX_UPLOAD = 8 * 2**20
"""Bytes an uploaded image may have (8 MB); more gets 413."""


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": " ".join(message.split())}, status_code=status)


class _Lab:
    """The app's state: the models by name, the samples, the upload limit."""

    def __init__(self, models: Sequence[LabModel], max_upload: int) -> None:
        if not models:
            raise ValueError("the lab needs at least one run or model to serve")
        self.models = {model.name: model for model in models}
        self.max_upload = max_upload
        self._samples: dict[str, Sample] | None = None

    def samples(self) -> dict[str, Sample]:
        if self._samples is None:
            self._samples = {sample.name: sample for sample in samples()}
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

    async def body(self, request: Request) -> bytes:
        """The request's body, refused with 413 as soon as it passes the limit (the rest is never read)."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_upload:
            raise LabError(f"the upload has {int(declared):,} bytes; at most {self.max_upload:,} are accepted", 413)
        received = bytearray()
        async for chunk in request.stream():
            received += chunk
            if len(received) > self.max_upload:
                raise LabError(f"the upload has more than {self.max_upload:,} bytes; at most that is accepted", 413)
        return bytes(received)


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


def _answers(handler: Answer, lab: _Lab) -> Handler:
    """An endpoint that answers JSON, and any :class:`LabError` as ``{"error": ...}`` with its status."""

    async def endpoint(request: Request) -> Response:
        try:
            return JSONResponse(await handler(lab, request))
        except LabError as error:
            return _error(str(error), error.status)

    return endpoint


@_api("/api/models")
async def _models(lab: _Lab, request: Request) -> Any:
    return {"models": [model.describe() for model in lab.models.values()]}


@_api("/api/predict", "POST")
async def _predict(lab: _Lab, request: Request) -> Any:
    model = lab.model(request)
    k = lab.whole_number(request, "k", 5, minimum=1)
    data = await lab.body(request)
    return await run_in_threadpool(model.predict, data, k)


@_api("/api/inspect", "POST")
async def _inspect(lab: _Lab, request: Request) -> Any:
    model = lab.model(request)
    k = lab.whole_number(request, "k", 5, minimum=1)
    text = request.query_params.get("layers")
    layers = None if text in (None, "", "default") else [name for name in text.split(",") if name]
    data = await lab.body(request)
    return await run_in_threadpool(model.inspect, data, layers, k)


@_api("/api/field")
async def _field(lab: _Lab, request: Request) -> Any:
    model = lab.model(request)
    layer = request.query_params.get("layer")
    if not layer:
        raise LabError("layer= is missing: which layer's unit?", 422)
    y, x = lab.whole_number(request, "y"), lab.whole_number(request, "x")
    return model.field(layer, y, x)


@_api("/api/samples")
async def _samples(lab: _Lab, request: Request) -> Any:
    found = await run_in_threadpool(lab.samples)
    return {"samples": [{"name": s.name, "label": s.label, "url": f"/api/samples/{s.name}"} for s in found.values()]}


def create_app(
    models: Sequence[LabModel], *, max_upload: int = MAX_UPLOAD, allowed_hosts: Sequence[str] | None = None
) -> Starlette:
    """The lab's app for ``models``.

    Args:
        models: what it serves (:func:`cnnlab.lab.session.load_models`).
        max_upload: bytes an upload may have.
        allowed_hosts: the ``Host`` headers it answers (``None``: any). A lab on 127.0.0.1 answers only
            ``localhost`` and ``127.0.0.1``, so that a web page elsewhere cannot reach it through a DNS name that
            points at this machine.
    """
    lab = _Lab(models, max_upload)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def sample(request: Request) -> Response:
        found = (await run_in_threadpool(lab.samples)).get(request.path_params["name"])
        if found is None:
            return _error(f"no sample {request.path_params['name']!r}; see /api/samples", 404)
        return Response(found.data, media_type=found.media_type)

    async def not_found(request: Request, error: Exception) -> Response:
        status = error.status_code if isinstance(error, HTTPException) else 500
        detail = error.detail if isinstance(error, HTTPException) else "the lab failed to answer this request"
        return _error(f"{detail}: {request.method} {request.url.path}", status)

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)  # browsers ask for one; the lab has none, and says so without a 404

    routes = [
        Route("/", index),
        Route("/favicon.ico", no_icon),
        *(Route(path, _answers(answer, lab), methods=methods) for path, answer, methods in _API),
        Route("/api/samples/{name}", sample),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))] if allowed_hosts else []
    return Starlette(
        routes=routes, middleware=middleware, exception_handlers={HTTPException: not_found, Exception: not_found}
    )
