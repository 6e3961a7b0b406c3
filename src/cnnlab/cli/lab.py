"""``cnnlab lab``: a local web page to draw on, drop images into, and watch one's own networks see them."""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from pathlib import Path

DESCRIPTION = """Start the lab: a web page on this machine where you draw a digit or drop a photo and see, live,
what your networks make of it: the image as each network receives it, the most likely classes, every
layer's feature maps (hover a unit for its value, click it for its receptive field) and the layer table.
Give several runs or models to compare them side by side on the same input.

RUN_OR_MODEL is a run directory, a checkpoint or a model name from `cnnlab models` (random weights). Without
one, the newest run under runs/ is served, or a freshly seeded lenet5 when there is none. Everything the
page needs is served by the lab itself (no network); the JSON API is in docs/lab-api.md.

It listens on 127.0.0.1 only, unless --host says otherwise (0.0.0.0: everyone on the network, for a class).

examples:
  cnnlab lab
  cnnlab lab runs/lenet5-mnist5k-20261125-045010 lenet5_modern
  cnnlab lab resnet20 --port 8800 --no-browser"""

NAME = "lab"
HELP = "a live page: draw or drop an image, see the prediction and every feature map"


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535 (0: any free one), got {text!r}")
    return value


def _megabytes(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1024:
        raise argparse.ArgumentTypeError(f"expected a size in MB, more than 0 and at most 1024, got {text!r}")
    return int(value * 2**20)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds, more than 0 and at most 3600, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("subjects", nargs="*", metavar="RUN_OR_MODEL", help="runs, checkpoints or model names")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=_port, default=8765, help="port to listen on (0: any free one)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    # The default as typed (argparse passes it through the type): the help then shows "8", not 8388608.
    parser.add_argument("--max-upload", type=_megabytes, default="8", metavar="MB",
                        help="largest image upload accepted, in MB")  # fmt: skip
    parser.add_argument("--timeout", type=_seconds, default="30", metavar="S",
                        help="seconds a client has to send a request (head and body), and to take an answer "
                             "it stopped reading; a slower one is cut off")  # fmt: skip
    parser.set_defaults(handler=run, prog=parser.prog)


def _newest_run() -> Path | None:
    """The most recently written run directory under ``runs/`` that has a checkpoint."""
    root = Path("runs")
    if not root.is_dir():
        return None
    candidates = [p for p in root.iterdir() if p.is_dir() and ((p / "best.pt").is_file() or (p / "last.pt").is_file())]
    return max(candidates, key=lambda p: p.stat().st_mtime, default=None)


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket, or one line on what stands in the way."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP said outright: asyncio turns Nagle's algorithm off only on sockets that say it, and with it
        # on, every answer on a kept-alive connection waits for a delayed ACK (40 ms instead of 5).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except socket.gaierror:
        raise ValueError(f"--host {host} is not an address of this machine") from None
    except OSError as error:
        if error.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise ValueError(f"port {port} on {host} is in use (another lab?); choose another with --port") from None
        raise ValueError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.listen(128)
    return sock


def _open_browser_when_ready(url: str, host: str, port: int) -> None:
    import webbrowser

    def wait_then_open() -> None:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1" if host in ("0.0.0.0", "::") else host, port), 0.2):
                    break
            except OSError:
                time.sleep(0.1)
        webbrowser.open(url)

    threading.Thread(target=wait_then_open, daemon=True).start()


def run(args: argparse.Namespace) -> int:
    import warnings

    from PIL import Image

    from cnnlab.lab.app import create_app
    from cnnlab.lab.server import serve
    from cnnlab.lab.session import load_models

    # PIL warns (two lines on stderr) of images over 89 megapixels; the lab refuses far smaller ones, in one line.
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

    subjects = list(args.subjects)
    if not subjects:
        newest = _newest_run()
        subjects = [str(newest) if newest is not None else "lenet5"]
        what = f"the newest run, {newest}" if newest is not None else "lenet5 with random weights (no run under runs/)"
        print(f"serving {what}")
    sock = _bind(args.host, args.port)
    models = load_models(subjects)
    port = sock.getsockname()[1]
    local = args.host in ("127.0.0.1", "localhost", "::1")
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{shown_host}:{port}/"
    hosts = ["127.0.0.1", "localhost", "[::1]"] if local else None
    app = create_app(models, max_upload=args.max_upload, allowed_hosts=hosts)
    if not local:
        print(f"{args.prog}: warning: listening on {args.host}: anyone who can reach this machine can use the lab",
              file=sys.stderr)  # fmt: skip
    print(f"{', '.join(model.name for model in models)} at {url}  (Ctrl-C stops)", flush=True)
    if not args.no_browser:
        _open_browser_when_ready(url, args.host, port)
    serve(app, sock, timeout=args.timeout)
    return 0
