"""`cnnlab lab` as a real process on a free port, through raw sockets: half-sent and slow requests time out,
a client that leaves or never reads costs nothing lasting, bad HTTP gets one JSON line, connections are
capped, and the lab's terminal stays quiet through all of it.
"""

import json
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

# Slow: the lab runs in a process of its own, and the timeouts (1 s here) must pass.
pytestmark = pytest.mark.slow

TIMEOUT = 1  # --timeout for the lab under test


@pytest.fixture(scope="module")
def lab():
    """`cnnlab lab lenet5 resnet20 --timeout 1` on a free port: its process and port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cnnlab", "lab", "lenet5", "resnet20", "--port", "0", "--no-browser",
         "--timeout", str(TIMEOUT)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline()
    match = re.search(r"at http://127\.0\.0\.1:(\d+)/", line)
    if match is None:
        process.kill()
        pytest.fail(f"cnnlab lab did not say where it listens: {line!r} {process.stderr.read()}")
    yield process, int(match.group(1))
    process.terminate()
    _, err = process.communicate(timeout=60)
    # everything the tests did to it, and not one line in its terminal
    assert err == "", err


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=30)


def _read_all(sock: socket.socket) -> bytes:
    """What the lab sends until it closes the connection (a test's timeout stops a hang)."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body else {}


def _ask(port: int, request: bytes) -> tuple[int, dict]:
    with _connect(port) as sock:
        sock.sendall(request)
        return _answer(_read_all(sock))


def _still_answers(port: int) -> None:
    status, answer = _ask(port, b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert status == 200 and answer["models"][0]["name"] == "lenet5"


def test_half_sent_heads_are_answered_408_and_closed(lab):
    _, port = lab
    clients = [_connect(port) for _ in range(50)]
    for sock in clients:
        sock.sendall(b"GET /api/models HTTP/1.1\r\nHost: 127.0")  # and never the rest
    for sock in clients:
        status, answer = _answer(_read_all(sock))  # before the fix: blocked here until the test's timeout
        assert status == 408 and answer["error"] == "the request did not arrive within 1 s; the connection is closed"
        sock.close()
    _still_answers(port)


def test_a_body_sent_too_slowly_is_cut_off(lab):
    _, port = lab
    with _connect(port) as sock:
        sock.sendall(b"POST /api/predict?model=lenet5 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n")
        sock.sendall(b"\x89PNG")  # then nothing
        status, answer = _answer(_read_all(sock))
    assert status == 408 and "did not arrive within 1 s" in answer["error"]
    _still_answers(port)


def test_a_trickle_of_bytes_does_not_keep_a_request_open(lab):
    _, port = lab
    with _connect(port) as sock:
        started = time.monotonic()
        head = b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
        closed = False
        for byte in head:  # a byte every 0.2 s: each one would reset an idle timer
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.2)
            if time.monotonic() - started > 10 * TIMEOUT:
                break
        raw = b"" if closed else _read_all(sock)
    assert closed or _answer(raw)[0] == 408
    _still_answers(port)


def test_a_client_that_leaves_mid_upload_leaves_no_trace(lab):
    _, port = lab
    for _ in range(5):
        with _connect(port) as sock:
            sock.sendall(
                b"POST /api/inspect?model=lenet5 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n"
                + b"x" * 5000
            )
            time.sleep(0.1)
    _still_answers(port)  # and the fixture checks that its terminal stayed empty (a 46-line traceback before)


def test_a_client_that_never_reads_its_answer_is_dropped(lab):
    _, port = lab
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(30)
    request = b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    sock.sendall(request * 1000)  # pipelined: 12 MB of answers pile up while nobody reads them
    time.sleep(6 * TIMEOUT)
    received = _read_all(sock)  # before the fix: every answer, in full
    sock.close()
    assert received.count(b"HTTP/1.1 200") < 1000
    _still_answers(port)


@pytest.mark.parametrize(
    ("request_bytes", "says"),
    [
        (b"NONSENSE\r\n\r\n", "not an HTTP request the lab reads"),
        (b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n", "not an HTTP request"),
        (b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n", "not an HTTP request"),
        (b"GET /api/models HTTP/1.1\r\n\r\n", "not an HTTP request"),  # HTTP/1.1 without a Host
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40, "not an HTTP request"),  # TLS to http
    ],
)
def test_what_is_not_http_gets_one_json_line(lab, request_bytes, says):
    _, port = lab
    status, answer = _ask(port, request_bytes)
    assert status == 400 and says in answer["error"] and "\n" not in answer["error"]
    _still_answers(port)


@pytest.mark.parametrize(
    "upgrade",
    [
        b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n",
        b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n",
    ],
)
def test_a_request_to_upgrade_is_answered_as_plain_http_without_a_word_in_the_terminal(lab, upgrade):
    _, port = lab
    status, answer = _ask(
        port, b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + upgrade + b"\r\n"
    )
    assert status == 200 and answer["models"]  # the fixture checks the terminal: two lines of advice each before


def test_a_head_too_long_is_refused_in_one_piece_or_in_many(lab):
    _, port = lab
    head = b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n"
    status, answer = _ask(port, head)  # arrives whole: parsed, then refused by the app
    assert status == 431 and answer["error"] == "the request's head has 40,029 bytes; at most 16,384 are read"
    with _connect(port) as sock:
        for start in range(0, len(head), 4096):  # arrives in pieces: refused while it is incomplete
            try:
                sock.sendall(head[start : start + 4096])
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.01)
        status, answer = _answer(_read_all(sock))
    assert status in (400, 431) and "16,384 bytes" in answer["error"]
    _still_answers(port)


def test_connections_past_the_cap_are_answered_503(lab):
    _, port = lab
    clients = []
    try:
        for _ in range(300):
            clients.append(_connect(port))
        refused = 0
        for sock in clients[256:]:
            sock.settimeout(5)
            raw = _read_all(sock)
            refused += raw.startswith(b"HTTP/1.1 503")
        assert refused >= 1
    finally:
        for sock in clients:
            sock.close()
    time.sleep(2 * TIMEOUT)
    _still_answers(port)


def test_ctrl_c_while_a_body_is_still_arriving_ends_the_lab_at_once():
    process = subprocess.Popen(
        [sys.executable, "-m", "cnnlab", "lab", "lenet5", "--port", "0", "--no-browser", "--timeout", "3600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    port = int(re.search(r":(\d+)/", process.stdout.readline()).group(1))
    with _connect(port) as sock:
        sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n\x89PNG")
        _still_answers(port)  # the upload above is being received
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=120)  # before: it waited for the upload, up to --timeout (an hour)
        finally:
            process.kill()
    assert err.strip().splitlines()[-1:] == ["cnnlab lab: interrupted"] and "Traceback" not in err
