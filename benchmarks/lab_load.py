"""A classroom against one lab: simulated students draw and inspect while oversized uploads and slow clients
are mixed in; what the lab served, how fast, and how much memory it took.

``cnnlab lab MODEL`` runs as its own process on 127.0.0.1 (as a teacher starts it), and this process plays the
class: each student draws digits as the page does (a stroke sends ``POST /api/inspect`` at most every 100 ms,
one request in flight), looks at the maps between digits (``GET /api/field`` as the mouse hovers units), now
and then picks a sample. Mixed in, one client sends what a page never sends, every few seconds: a body over the
upload limit, a small PNG that claims 6300x6300, a real 4000x4000 PNG and a 7000x5000 JPEG (both reduced while
decoded), a 2,600-repeat layer list; and slow clients hold connections: half a request head, a body a byte
at a time, answers never read. Printed: the well-formed requests served, their errors (there should be
none), p50/p95 latency, what the mixed-in requests got, and the lab's peak memory (VmHWM of its process,
from /proc). Run:

    .venv/bin/python benchmarks/lab_load.py [--students 32] [--seconds 120] [--model lenet5]
                                            [--lab-timeout 30] [--quick]

Targets: 0 errors for well-formed requests, p95 under 200 ms for LeNet-5 on 2 cores, peak memory under 1.5 GB.
The numbers depend on the machine and on what else runs on it: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import platform
import random
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

UPDATE_EVERY = 0.1  # the page's UPDATE_EVERY_MS: while drawing, a new prediction at most this often
DIGIT_STROKES = {  # each digit as strokes on the page's 280x280 pad (points in 0..1)
    "1": [[(0.5, 0.15), (0.5, 0.85)]],
    "4": [[(0.6, 0.85), (0.6, 0.15), (0.25, 0.6), (0.75, 0.6)]],
    "7": [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)], [(0.35, 0.5), (0.65, 0.5)]],
    "3": [[(0.3, 0.2), (0.7, 0.25), (0.45, 0.5), (0.7, 0.7), (0.3, 0.85)]],
    "0": [[(0.5, 0.15), (0.3, 0.35), (0.3, 0.65), (0.5, 0.85), (0.7, 0.65), (0.7, 0.35), (0.5, 0.15)]],
}


def png(image: Image.Image, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    return buffer.getvalue()


def drawings() -> list[list[bytes]]:
    """For each digit, the pad after each part of each stroke (a stroke is sent as it grows): PNG bytes."""
    drawn = []
    for strokes in DIGIT_STROKES.values():
        image, frames = Image.new("RGBA", (280, 280), (0, 0, 0, 0)), []
        pen = ImageDraw.Draw(image)
        for stroke in strokes:
            points = [(x * 280, y * 280) for x, y in stroke]
            for end in range(2, len(points) + 1):
                pen.line(points[:end], fill=(0, 0, 0, 255), width=18, joint="curve")
                frames.append(png(image))
        drawn.append(frames)
    return drawn


def oversized() -> list[tuple[str, bytes, str]]:
    """What a page never sends: (what it is, body, query)."""
    big = Image.new("RGB", (4000, 4000), "white")
    ImageDraw.Draw(big).line([(1100, 800), (2900, 800), (1700, 3200)], fill="black", width=280)
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 256, (5000 // 8, 7000 // 8, 3), dtype=np.uint8))
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", 6300, 6300, 8, 6, 0, 0, 0)  # 6300x6300 RGBA, and one tiny row
    idat = b"IDAT" + zlib.compress(b"\x00" * 64)
    header_only = b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(chunk) - 4) + chunk + struct.pack(">I", zlib.crc32(chunk))
        for chunk in (ihdr, idat, b"IEND")
    )
    return [
        ("a body over the upload limit", b"\x00" * (9 * 2**20), "k=5"),
        ("a PNG that claims 6300x6300", bytes(header_only), "k=5"),
        ("a real 4000x4000 PNG", png(big), "k=5"),
        ("a 7000x5000 JPEG", png(photo.resize((7000, 5000)), "JPEG"), "k=5"),
        ("a 2,600-repeat layer list", png(big.resize((200, 200))), "layers=" + ",".join(["c1"] * 2600)),
    ]


@dataclass
class Tally:
    """What the well-formed requests and the mixed-in ones got (filled by many threads, under ``lock``)."""

    times: list[float] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    mixed: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def connect(port: int) -> http.client.HTTPConnection:
    """A kept-alive connection with Nagle's algorithm off, as browsers have it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.connect()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


class Student:
    """One student's page: one connection, one request in flight, as lab.js sends them."""

    def __init__(self, port: int, model: str, tally: Tally, seed: int) -> None:
        self.port, self.model, self.tally, self.rng = port, model, tally, random.Random(seed)
        self.connection = connect(port)

    def ask(self, kind: str, method: str, path: str, body: bytes | None = None) -> bytes | None:
        started = time.perf_counter()
        try:
            headers = {"Content-Type": "image/png"} if body is not None else {}
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            payload = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            self.connection = connect(self.port)
            with self.tally.lock:
                self.tally.errors.append(f"{kind}: {type(error).__name__}: {error}")
            return None
        elapsed = time.perf_counter() - started
        with self.tally.lock:
            if status != 200:
                self.tally.errors.append(f"{kind}: {status} {payload[:120]!r}")
                return None
            self.tally.times.append(elapsed)
            self.tally.kinds[kind] += 1
        return payload

    def inspect(self, body: bytes) -> None:
        self.ask("inspect", "POST", f"/api/inspect?model={self.model}&k=5&layers=default", body)

    def draw_digit(self, frames: list[bytes], until: float) -> None:
        sent = 0.0
        for frame in frames:
            wait = UPDATE_EVERY - (time.perf_counter() - sent)
            if wait > 0:
                time.sleep(wait)
            if time.perf_counter() >= until:
                return
            sent = time.perf_counter()
            self.inspect(frame)
            time.sleep(self.rng.uniform(0.0, 0.15))  # the pen moves on before the next frame changes

    def look_at_maps(self, until: float) -> None:
        for _ in range(self.rng.randint(2, 6)):
            if time.perf_counter() >= until:
                return
            y, x = self.rng.randrange(10), self.rng.randrange(10)
            self.ask("field", "GET", f"/api/field?model={self.model}&layer=c3&y={y}&x={x}")
            time.sleep(self.rng.uniform(0.2, 0.6))

    def run(self, drawn: list[list[bytes]], until: float) -> None:
        self.ask("models", "GET", "/api/models")
        self.ask("samples", "GET", "/api/samples")
        while time.perf_counter() < until:
            if self.rng.random() < 0.1:
                sample = self.ask("samples", "GET", f"/api/samples/digit-{self.rng.randrange(10)}")
                if sample is not None:
                    self.inspect(sample)
            else:
                self.draw_digit(self.rng.choice(drawn), until)
            self.look_at_maps(until)
            time.sleep(self.rng.uniform(0.5, 2.0))  # reading the answer, clearing the pad
        self.connection.close()


def send_oversized(port: int, model: str, tally: Tally, until: float, every: float) -> None:
    """Every ``every`` seconds, the next of :func:`oversized` (their answers are tallied, not timed)."""
    cases = oversized()
    index = 0
    while time.perf_counter() < until:
        what, body, query = cases[index % len(cases)]
        index += 1
        try:
            connection = connect(port)
            connection.request("POST", f"/api/inspect?model={model}&{query}", body=body)
            outcome = str(connection.getresponse().status)
            connection.close()
        except (OSError, http.client.HTTPException) as error:
            outcome = f"cut off ({type(error).__name__})"  # a 413 sent while the body was still going out
        with tally.lock:
            tally.mixed[f"{what}: {outcome}"] += 1
        time.sleep(every)


def _read_to_end(sock: socket.socket, seconds: float = 5) -> bytes:
    """What the connection still delivers within ``seconds`` (once the lab let go of it, only what the
    kernels buffered)."""
    chunks, deadline = [], time.perf_counter() + seconds
    sock.settimeout(1)
    try:
        while time.perf_counter() < deadline and (chunk := sock.recv(2**16)):
            chunks.append(chunk)
    except OSError:  # reset, or a timeout: what came is what counts
        pass
    return b"".join(chunks)


class _Answered(Exception):
    """How a slow client's connection ended, where reading it told more than its first line."""


def slow_client(port: int, how: str, tally: Tally, until: float) -> None:
    """Holds a connection the way ``how`` says, until the lab cuts it off; then again, until ``until``."""
    while time.perf_counter() < until:
        sock = socket.socket()
        if how == "answers never read":  # a small window, set before the handshake: the kernel holds little
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.settimeout(max(1.0, until - time.perf_counter()))
        try:
            if how == "half a request head":
                sock.sendall(b"GET /api/models HTTP/1.1\r\nHost: 127.0")
            elif how == "a body a byte at a time":
                sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n")
                for _ in range(int(until - time.perf_counter()) + 1):
                    sock.sendall(b"x")
                    time.sleep(1.0)
            else:  # answers never read (until the end)
                sock.sendall(b"GET /api/samples/china HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 1000)  # 40 MB
                time.sleep(max(0.0, until - time.perf_counter()))
                raise _Answered(f"cut off after {_read_to_end(sock).count(b'HTTP/1.1 200')} of 1,000 answers")
            answer = sock.recv(64)
            outcome = answer.split(b"\r\n")[0].decode("latin-1") or "closed"
        except _Answered as said:
            outcome = str(said)
        except TimeoutError:
            outcome = "still open at the end"
        except OSError as error:
            outcome = f"cut off ({type(error).__name__})"
        finally:
            sock.close()
        with tally.lock:
            tally.mixed[f"{how}: {outcome}"] += 1


def memory_mb(pid: int, key: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (the peak) of a process, in MB."""
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(rf"^{key}:\s+(\d+) kB", status.read(), re.M).group(1)) / 1024


def start_lab(model: str, timeout: float) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "cnnlab", "lab", model, "--port", "0", "--no-browser", "--timeout", f"{timeout:g}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline()
    match = re.search(r" at http://127\.0\.0\.1:(\d+)/", line)
    if match is None:
        process.kill()
        raise SystemExit(f"cnnlab lab {model} did not start: {line}{process.stderr.read()}")
    return process, int(match.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=32, help="simulated students (default: 32)")
    parser.add_argument("--seconds", type=float, default=120, help="how long they work (default: 120)")
    parser.add_argument("--model", default="lenet5", help="the model the lab serves (default: lenet5)")
    parser.add_argument("--lab-timeout", type=float, default=30, help="the lab's --timeout (default: 30)")
    parser.add_argument("--quick", action="store_true", help="4 students for 4 s, the lab's timeout 1 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.students, args.seconds, args.lab_timeout = 4, 4.0, 1.0

    drawn = drawings()
    process, port = start_lab(args.model, args.lab_timeout)
    tally = Tally()
    try:
        # the teacher opens the page first: the samples are read and the model has run once before the class
        Student(port, args.model, Tally(), -1).inspect(drawn[0][-1])
        Student(port, args.model, Tally(), -1).ask("samples", "GET", "/api/samples")
        load_before = os.getloadavg()
        started = time.perf_counter()
        until = started + args.seconds
        threads = [
            threading.Thread(target=Student(port, args.model, tally, seed).run, args=(drawn, until))
            for seed in range(args.students)
        ]
        threads.append(threading.Thread(target=send_oversized, args=(port, args.model, tally, until,
                                                                      min(3.0, args.seconds / 5))))  # fmt: skip
        for how in ("half a request head", "a body a byte at a time", "answers never read"):
            threads.append(threading.Thread(target=slow_client, args=(port, how, tally, until)))
        for thread in threads:
            thread.start()
        peak_sampled = 0.0
        while any(thread.is_alive() for thread in threads):
            peak_sampled = max(peak_sampled, memory_mb(process.pid, "VmRSS"))
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        peak, now = memory_mb(process.pid, "VmHWM"), memory_mb(process.pid, "VmRSS")
        load_after = os.getloadavg()
    finally:
        process.terminate()
        _, lab_said = process.communicate(timeout=60)

    served, errors = len(tally.times), len(tally.errors)
    times = np.array(tally.times or [float("nan")]) * 1e3
    p50, p95 = float(np.percentile(times, 50)), float(np.percentile(times, 95))
    print(f"machine: {os.cpu_count()} cores, {platform.machine()} {platform.system()}, Python "
          f"{platform.python_version()}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")  # fmt: skip
    print(f"load average before: {' '.join(f'{v:.2f}' for v in load_before)}; "
          f"after: {' '.join(f'{v:.2f}' for v in load_after)}")  # fmt: skip
    print(f"cnnlab lab {args.model} --timeout {args.lab_timeout:g}: {args.students} students for {elapsed:.0f} s")
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in tally.kinds.most_common())
    print(f"served: {served:,} requests ({kinds}), {served / elapsed:.0f} requests/s, {errors} errors")
    for error in tally.errors[:5]:
        print(f"  error: {error}")
    print(f"latency: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {float(np.max(times)):.1f} ms")
    print("mixed in:")
    for outcome, count in sorted(tally.mixed.items()):
        print(f"  {count:4d} x {outcome}")
    print(f"lab's memory: peak {peak:.0f} MB (VmHWM), {peak_sampled:.0f} MB sampled, {now:.0f} MB at the end")
    print(f"lab's terminal: {len(lab_said.splitlines())} lines" + (f": {lab_said.splitlines()[0]}" if lab_said else ""))
    print(f"target: 0 errors for well-formed requests: {'met' if errors == 0 else 'NOT met'} ({errors})")
    print(f"target: p95 under 200 ms: {'met' if p95 < 200 else 'NOT met'} (p95 {p95:.1f} ms)")
    print(f"target: peak memory under 1.5 GB: {'met' if peak < 1536 else 'NOT met'} ({peak:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
