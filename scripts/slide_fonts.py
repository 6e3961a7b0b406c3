"""Every picture command, its SVG read back: the smallest text in points once the picture fills a 16:9 slide.

Trains LeNet-5 for one epoch (the run the ``show`` commands picture), runs each command below with SVG output
into a temporary folder, and prints a table: the command, the picture's size and aspect, its smallest text on a
16:9 slide (``cnnlab.viz.slide.read_svg``; the standard in ``docs/pictures.md`` asks for 18 pt) and that text.
Animations are drawn by Pillow, not as SVG: their row comes from ``Animation.slide_check()``, the texts the
frames draw at their pixel sizes, where the library has it.

``--src DIR`` runs the commands with another checkout's sources (``--src /work/base/src``: the same table
before a change), while the SVGs are read by this checkout's ``read_svg``. Run from the repository root:

    .venv/bin/python scripts/slide_fonts.py [--src DIR] [--markdown] [--only WORD...] [--experiments]

``--experiments`` adds the fourteen experiments, each run with one seed for one epoch (several minutes): their
figures' layout does not depend on how long they trained.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from cnnlab.viz.slide import MIN_FONT_PT, read_svg  # noqa: E402

# (what the row is called, the command with {run} and {out}, the SVG it writes under {out} or a glob)
COMMANDS = [
    ("draw lenet5", "draw lenet5 --output {out}/x.svg", "x.svg"),
    ("draw resnet20", "draw resnet20 --output {out}/x.svg", "x.svg"),
    ("draw resnet20 --style graph", "draw resnet20 --style graph --output {out}/x.svg", "x.svg"),
    ("draw googlenet", "draw googlenet --output {out}/x.svg", "x.svg"),
    ("draw googlenet --aux", "draw googlenet --aux --output {out}/x.svg", "x.svg"),
    ("draw resnet20 --open downsampling", "draw resnet20 --open downsampling --output {out}/x.svg", "x.svg"),
    ("draw resnet50", "draw resnet50 --output {out}/x.svg", "x.svg"),
    ("draw alexnet", "draw alexnet --output {out}/x.svg", "x.svg"),
    ("draw vgg16", "draw vgg16 --output {out}/x.svg", "x.svg"),
    ("show feature-maps RUN --layers c1 c3", "show feature-maps {run} --layers c1 c3 --format svg --out {out}",
     "c*.svg"),
    ("show feature-maps resnet20", "show feature-maps resnet20 --format svg --out {out}", "*.svg"),
    ("show filters lenet5", "show filters lenet5 --format svg --out {out}", "*.svg"),
    ("show filters alexnet", "show filters alexnet --format svg --out {out}", "*.svg"),
    ("show receptive-field googlenet", "show receptive-field googlenet --layer inception4a --unit 6,4 --format svg "
     "--out {out}", "*.svg"),
    ("show saliency RUN --method all --compare-random", "show saliency {run} --method all --compare-random "
     "--format svg --out {out}", "*.svg"),
    ("show curves RUN", "show curves {run} --format svg --out {out}", "*.svg"),
    ("show confusion RUN", "show confusion {run} --format svg --out {out}", "*.svg"),
]  # fmt: skip

# The experiments at their smallest (one seed, one epoch): each writes NAME.svg beside NAME.png (--experiments).
EXPERIMENTS = [
    "learned-features", "locality", "weights", "data-efficiency", "equivariance", "pooling", "upsampling",
    "lenet-connectivity", "relu", "regularisation", "factorisation", "global-pooling", "auxiliary", "degradation",
]  # fmt: skip

# Animations: (row, cnnlab.animate's arguments). Their frames are Pillow's, read by Animation.slide_check().
ANIMATIONS = [
    ("animate conv -i 5 -k 3 -s 2 -p 1 --values", {"kind": "conv", "input": 5, "kernel": 3, "stride": 2,
                                                   "padding": 1, "values": True}),
    ("animate transposed -i 3 -k 3 -s 2 -p 1 --values", {"kind": "transposed", "input": 3, "kernel": 3, "stride": 2,
                                                         "padding": 1, "values": True}),
    ("animate conv -i 7 -k 3 -d 2", {"kind": "conv", "input": 7, "kernel": 3, "dilation": 2}),
    ("animate pool -i 5 -k 2 --values", {"kind": "pool", "input": 5, "kernel": 2, "values": True}),
]  # fmt: skip

ANIMATION_CHECK = """
import json, sys
import cnnlab
animation = cnnlab.animate(**json.loads(sys.argv[1]))
check = getattr(animation, "slide_check", None)
if check is None:
    print(json.dumps(None))
else:
    check = check()
    smallest = check.smallest
    size, text = (smallest.size, smallest.text) if smallest else (None, "")
    print(json.dumps([check.width, check.height, size, text]))
"""


def _environment(src: Path | None) -> dict[str, str]:
    environment = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    environment["PYTHONPATH"] = str(src or ROOT / "src")
    return environment


def _cnnlab(arguments: str, environment: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "cnnlab", *shlex.split(arguments)]
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=900)


def _train(environment: dict[str, str], folder: Path) -> Path:
    result = _cnnlab(f"train lenet5 --epochs 1 --output {folder / 'run'}", environment, folder)
    if result.returncode != 0:
        raise SystemExit(f"training failed:\n{result.stdout}{result.stderr}")
    return folder / "run"


def _row(name: str, svgs: list[Path]) -> dict[str, object]:
    """The command's smallest text over every SVG it wrote (the picture that is hardest to read)."""
    checks = [(svg, read_svg(svg)) for svg in svgs]
    svg, check = min(checks, key=lambda pair: pair[1].smallest_on_slide)
    smallest = check.smallest
    return {"command": name, "file": svg.name, "pictures": len(svgs), "size": f"{check.width:.0f}x{check.height:.0f}",
            "aspect": round(check.aspect, 2), "smallest_pt": round(check.smallest_on_slide, 1),
            "text": smallest.text if smallest else ""}  # fmt: skip


def _animation_row(name: str, arguments: dict[str, object], environment: dict[str, str]) -> dict[str, object]:
    result = subprocess.run([sys.executable, "-c", ANIMATION_CHECK, json.dumps(arguments)], env=environment,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    if result.returncode != 0:
        return {"command": name, "error": result.stderr.strip().splitlines()[-1]}
    answer = json.loads(result.stdout)
    if answer is None:
        return {"command": name, "error": "no Animation.slide_check() in these sources"}
    from cnnlab.viz.slide import SlideCheck, SvgText

    width, height, size, text = answer
    check = SlideCheck(width, height, (SvgText(text, size),) if size else (), unit="px")
    return {
        "command": name,
        "file": "frames",
        "pictures": 1,
        "size": f"{width:.0f}x{height:.0f}px",
        "aspect": round(check.aspect, 2),
        "smallest_pt": round(check.smallest_on_slide, 1),
        "text": text,
    }


def measure(src: Path | None, only: list[str], experiments: bool = False) -> list[dict[str, object]]:
    environment = _environment(src)
    rows = []
    smallest = "--seeds 0 --epochs 1 --out {out}"
    commands = COMMANDS + [(f"experiment {name}", f"experiment {name} {smallest}", f"{name}.svg")
                           for name in (EXPERIMENTS if experiments else [])]  # fmt: skip
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        chosen = [entry for entry in commands if not only or any(word in entry[0] for word in only)]
        run = _train(environment, folder) if any("{run}" in arguments for _, arguments, _ in chosen) else None
        for index, (name, arguments, pattern) in enumerate(chosen):
            out = folder / f"out{index}"
            out.mkdir()
            result = _cnnlab(arguments.format(run=run, out=out), environment, folder)
            svgs = sorted(out.rglob(pattern))
            if result.returncode != 0 or not svgs:
                error = (result.stderr.strip() or "no SVG written").splitlines()[-1]
                rows.append({"command": name, "error": error})
            else:
                rows.append(_row(name, svgs))
    rows += [_animation_row(name, arguments, environment) for name, arguments in ANIMATIONS
             if not only or any(word in name for word in only)]  # fmt: skip
    return rows


def _table(rows: list[dict[str, object]], markdown: bool) -> str:
    lines = []
    if markdown:
        lines += [
            "| command | size (pt) | aspect | smallest text on a 16:9 slide | that text |",
            "|---|---|---:|---:|---|",
        ]
    for row in rows:
        if "error" in row:
            lines.append(
                f"| `{row['command']}` | | | {row['error']} | |" if markdown else f"{row['command']}: {row['error']}"
            )
            continue
        mark = "" if float(row["smallest_pt"]) >= MIN_FONT_PT else " (below 18)"  # type: ignore[arg-type]
        if markdown:
            lines.append(
                f"| `{row['command']}` | {row['size']} | {row['aspect']} | {row['smallest_pt']} pt{mark} | "
                f"{str(row['text'])[:30]!r} |"
            )
        else:
            lines.append(
                f"{row['command']:<52} {row['size']:>12} aspect {row['aspect']:<5} "
                f"{row['smallest_pt']:>5} pt{mark}  {str(row['text'])[:30]!r}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", type=Path, help="run the commands with this checkout's src/ (default: this one)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    parser.add_argument("--only", nargs="+", default=[], metavar="WORD", help="only the commands containing a word")
    parser.add_argument("--experiments", action="store_true", help="the 14 experiments too (1 seed, 1 epoch: minutes)")
    args = parser.parse_args()
    rows = measure(args.src, args.only, args.experiments)
    print(_table(rows, args.markdown))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
