"""The lab's speed: a round trip over HTTP against the model's bare forward pass, and a load of many clients.

For each model, ``cnnlab lab MODEL`` runs as its own process (as a user starts it), and this process asks it,
over HTTP on 127.0.0.1, what the page asks while someone draws: ``POST /api/inspect`` with an image (the
prediction and the feature maps of every default layer). Its p50 and p95 stand beside the bare forward pass of
the same model in this process (same threads, same input size), the baseline no server can beat. Then many
clients at once ask lenet5 for a while: requests per second, p95, and the errors (there should be none).
Run:

    .venv/bin/python benchmarks/lab.py [--models lenet5 resnet20 googlenet] [--requests 200]
                                       [--clients 32] [--seconds 30] [--quick]
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlparse

import numpy as np
import torch
from PIL import Image, ImageDraw

from cnnlab.models import create_model


def drawing(size: int) -> bytes:
    """A 7 drawn dark on white (for digit models) or a textured colour picture: the bytes of a PNG."""
    image = Image.new("RGB", (size, size), "white")
    pen = ImageDraw.Draw(image)
    pen.line([(size * 0.28, size * 0.22), (size * 0.75, size * 0.22), (size * 0.45, size * 0.82)], fill="black",
             width=max(2, size // 14))  # fmt: skip
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def start_lab(model: str) -> tuple[subprocess.Popen, str]:
    """``cnnlab lab MODEL`` on a free port; the process and its address."""
    process = subprocess.Popen([sys.executable, "-m", "cnnlab", "lab", model, "--port", "0", "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    line = process.stdout.readline()
    if " at http" not in line:
        process.kill()
        raise SystemExit(f"cnnlab lab {model} did not start: {line}{process.stderr.read()}")
    return process, line.split(" at ")[1].split()[0]


def connect(host: str, port: int) -> http.client.HTTPConnection:
    """A keep-alive connection with Nagle's algorithm off, as browsers have it: http.client sends the headers
    and the body in two writes, and without TCP_NODELAY the body waits for a delayed ACK (about 40 ms)."""
    connection = http.client.HTTPConnection(host, port, timeout=120)
    connection.connect()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


def ask(connection: http.client.HTTPConnection, body: bytes) -> float:
    """One ``POST /api/inspect``; its round trip in seconds."""
    started = time.perf_counter()
    connection.request("POST", "/api/inspect?k=5", body=body, headers={"Content-Type": "image/png"})
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {payload[:200]!r}")
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def forward_seconds(name: str, repeats: int) -> list[float]:
    """The bare forward pass (batch 1, eval mode, no grad) of the model at its default size, in this process."""
    model = create_model(name).eval()
    x = torch.randn(1, *model.spec.input_size)
    times = []
    with torch.no_grad():
        for index in range(repeats + 5):
            started = time.perf_counter()
            model(x)
            if index >= 5:  # warm-up excluded
                times.append(time.perf_counter() - started)
    return times


def latency(name: str, requests: int) -> dict[str, float]:
    process, url = start_lab(name)
    try:
        address = urlparse(url)
        connection = connect(address.hostname, address.port)
        body = drawing(200 if name.startswith("lenet") else 256)
        for _ in range(5):  # warm-up: the first requests load the samples' code paths and caches
            ask(connection, body)
        times = [ask(connection, body) for _ in range(requests)]
        connection.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    bare = forward_seconds(name, requests)
    return {
        "p50": percentile(times, 50) * 1e3,
        "p95": percentile(times, 95) * 1e3,
        "forward_p50": percentile(bare, 50) * 1e3,
        "forward_p95": percentile(bare, 95) * 1e3,
    }


def load(name: str, clients: int, seconds: float) -> dict[str, float]:
    process, url = start_lab(name)
    address = urlparse(url)
    body = drawing(200)
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        connection = connect(address.hostname, address.port)
        mine, failed = [], []
        while time.perf_counter() < deadline:
            try:
                mine.append(ask(connection, body))
            except Exception as error:  # a failed request is what the load test counts
                failed.append(str(error))
                connection.close()
                connection = connect(address.hostname, address.port)
        connection.close()
        with lock:
            times.extend(mine)
            errors.extend(failed)

    try:
        threads = [threading.Thread(target=client) for _ in range(clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "requests": len(times),
        "errors": len(errors),
        "per_second": len(times) / elapsed,
        "p50": percentile(times, 50) * 1e3 if times else float("nan"),
        "p95": percentile(times, 95) * 1e3 if times else float("nan"),
        "first_error": errors[0] if errors else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["lenet5", "resnet20", "googlenet"])
    parser.add_argument("--requests", type=int, default=200, help="round trips per model")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients of the load test")
    parser.add_argument("--seconds", type=float, default=30, help="length of the load test")
    parser.add_argument("--quick", action="store_true", help="lenet5 only, 20 round trips, 4 clients for 2 s")
    args = parser.parse_args()
    if args.quick:
        args.models, args.requests, args.clients, args.seconds = ["lenet5"], 20, 4, 2.0
    print(f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} cores, CPU; "
          f"POST /api/inspect (prediction + every default layer's maps), {args.requests} round trips each")  # fmt: skip
    print(f"{'model':<10} {'p50 ms':>8} {'p95 ms':>8} {'forward p50':>12} {'forward p95':>12} {'p95 / forward':>14}")
    for name in args.models:
        result = latency(name, args.requests)
        ratio = result["p95"] / result["forward_p95"]
        print(f"{name:<10} {result['p50']:8.1f} {result['p95']:8.1f} {result['forward_p50']:12.1f} "
              f"{result['forward_p95']:12.1f} {ratio:13.1f}x")  # fmt: skip
    result = load("lenet5", args.clients, args.seconds)
    print(f"load: {args.clients} clients for {args.seconds:g} s against lenet5: {result['requests']} requests, "
          f"{result['errors']} errors, {result['per_second']:.0f} requests/s, p50 {result['p50']:.1f} ms, "
          f"p95 {result['p95']:.1f} ms")  # fmt: skip
    if result["errors"]:
        print(f"first error: {result['first_error']}")


if __name__ == "__main__":
    main()
