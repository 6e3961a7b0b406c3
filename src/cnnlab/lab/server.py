"""The lab's HTTP server: uvicorn's h11 protocol with the limits a classroom's network needs.

uvicorn closes a kept-alive connection that stays idle (``timeout_keep_alive``), but a client that connects and
says nothing, sends half a request's head, sends its body a byte at a time, or never reads the answer, holds its
connection (and whatever the lab buffered for it) for as long as it likes. Here a new connection's first
request, and any request from its first byte, must arrive whole (head and body) within ``timeout`` seconds; an
answer must be taken within ``timeout`` seconds once the client stops reading; and at most
``max_connections`` connections are open at once. What is cut off gets a one-line JSON answer where one can
still be sent (400, 408, 503), and nothing is logged: a student's laptop that falls asleep mid-upload, or a
port scanner, is not news.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from http import HTTPStatus
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["MAX_CONNECTIONS", "MAX_HEAD", "TIMEOUT", "serve"]

TIMEOUT = 30.0
"""Seconds a client has to send a request (head and body), and to take its answer once it stops reading."""

MAX_CONNECTIONS = 256
"""Connections open at once: a class of 32 whose browsers keep up to six each, and room to spare."""

MAX_HEAD = 16 * 1024
"""Bytes of a request's head (its line and headers) h11 buffers while it is incomplete; more gets a 400. A head
that arrives whole in one read is h11's to parse; the app refuses one this long (431, :mod:`cnnlab.lab.app`)."""

KEEP_ALIVE = 5
"""Seconds an idle kept-alive connection stays open (uvicorn's default)."""


def _answer(status: int, message: str) -> bytes:
    """A whole HTTP answer, ``{"error": message}``, that closes the connection: for when no request is there
    to answer through (h11 sends answers to requests only)."""
    body = json.dumps({"error": message}).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


_NOT_NEWS = ("Invalid HTTP request received.", "Unsupported upgrade request.", "No supported WebSocket library")


class _Quiet(logging.Filter):
    """Drops uvicorn's lines for what a client sent wrong: a request that is not HTTP (the client is told, 400),
    a request to upgrade to WebSocket or HTTP/2 (answered as plain HTTP); two lines each, for anyone to flood
    the terminal with, and advice to install what the lab does not need."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_NOT_NEWS)


_LOGGER = logging.getLogger("uvicorn.error.lab")  # uvicorn's handlers, through its error logger
_LOGGER.addFilter(_Quiet())


class _Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request, one on each stalled answer, and a connection cap."""

    timeout: float = TIMEOUT
    max_connections: int = MAX_CONNECTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logger = _LOGGER
        self._request_deadline: asyncio.TimerHandle | None = None
        self._reading_deadline: asyncio.TimerHandle | None = None
        self._started = False  # whether bytes of the request the deadline is for have arrived

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            message = f"the lab has {self.max_connections} connections open; try again in a moment"
            transport.write(_answer(503, message))
            transport.close()
            return
        self._watch()  # a connection that says nothing is closed, too

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._request_deadline, self._reading_deadline):
            if timer is not None:
                timer.cancel()
        self._request_deadline = self._reading_deadline = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch(started=True)

    def _watch(self, started: bool = False) -> None:
        """A deadline while the client owes the rest of a request (or, on a new connection, its first one).

        Between requests, an idle kept-alive connection is uvicorn's to close (``timeout_keep_alive``); the
        deadline starts again with the next request's first byte.
        """
        owing = self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing()
        if owing and self._request_deadline is None:
            self._request_deadline = self.loop.call_later(self.timeout, self._request_too_slow)
        elif not owing and self._request_deadline is not None:
            self._request_deadline.cancel()
            self._request_deadline = None
        self._started = owing and (started or self._started)

    def _request_too_slow(self) -> None:
        self._request_deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        answered = cycle is not None and cycle.response_started  # this request's answer began (or is done)
        if self._started and (not answered or self.conn.their_state is h11.IDLE):  # IDLE: a next request's head
            message = f"the request did not arrive within {self.timeout:g} s; the connection is closed"
            self.transport.write(_answer(408, message))
        self.transport.close()  # the app, if it was reading the body, hears that the client left

    def shutdown(self) -> None:
        """Ctrl-C: a request still arriving is dropped now (its client may take the whole timeout to finish it);
        one being answered is finished first, as uvicorn does."""
        if self.conn.their_state is h11.SEND_BODY:
            self.transport.close()
            return
        super().shutdown()

    def send_400_response(self, msg: str) -> None:
        message = f"not an HTTP request the lab reads, or a head over {MAX_HEAD:,} bytes ({msg.rstrip('.')})"
        self.transport.write(_answer(400, message))
        self.transport.close()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._reading_deadline is None:
            self._reading_deadline = self.loop.call_later(self.timeout, self.transport.abort)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._reading_deadline is not None:
            self._reading_deadline.cancel()
            self._reading_deadline = None


def serve(app: Any, sock: socket.socket, *, timeout: float = TIMEOUT, max_connections: int = MAX_CONNECTIONS) -> None:
    """Serve ``app`` on the listening socket ``sock`` until Ctrl-C (or SIGTERM).

    Args:
        app: an ASGI app (:func:`cnnlab.lab.app.create_app`).
        sock: a bound, listening socket.
        timeout: seconds a client has to send a request, head and body, and to take an answer it stopped reading.
        max_connections: connections open at once; one more is answered 503 and closed.
    """
    protocol = type("LabProtocol", (_Protocol,), {"timeout": timeout, "max_connections": max_connections})
    config = uvicorn.Config(
        app,
        http=protocol,
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE,
        h11_max_incomplete_event_size=MAX_HEAD,
    )
    uvicorn.Server(config).run(sockets=[sock])
