"""The README's table of the lecture's claims: every quick preset, run one after the other, then its verdict,
each measurable part's 95 % interval against its threshold, and the time it took.

Runs ``cnnlab experiment NAME`` (the quick preset, no other flag) for each experiment, one at a time so that
the times are those of an otherwise idle machine, each into ``OUT/NAME``; ``--reuse`` reads the
``results.json`` already there instead. Prints a Markdown table and writes it to ``OUT/claims.md``. Run:

    OMP_NUM_THREADS=1 .venv/bin/python scripts/experiments_table.py [--out experiments/quick] [--reuse]
                                                                    [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _run(name: str, out: Path) -> None:
    """One quick preset through the command line, as a user runs it (its output goes to ``OUT/NAME.log``)."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{name}.log", "w") as log:
        subprocess.run([sys.executable, "-m", "cnnlab", "experiment", name, "--output", str(out / name)],
                       stdout=log, stderr=subprocess.STDOUT, check=True, cwd=ROOT)  # fmt: skip


def _interval(judgement: dict[str, Any]) -> str:
    side = ">" if judgement["holds_when"] == "above" else "<"
    interval = judgement["interval"]
    if interval is None:
        found = f"{judgement['per_seed'][0]:.3g} (exact)"
    elif interval["low"] is None or interval["n"] < 2:
        found = "no interval: " + ", ".join("-" if v is None else f"{v:.3g}" for v in judgement["per_seed"])
    else:
        found = f"{interval['mean']:.3g} [{interval['low']:.3g}, {interval['high']:.3g}], {interval['n']} seeds"
    verdict = {True: "held", False: "did not hold", None: "inconclusive"}[judgement["held"]]
    return f"{judgement['measure']}: {found}; needs {side} {judgement['threshold']:.3g}: {verdict}"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def table(out: Path, names: list[str]) -> str:
    """The Markdown table of the results in ``out/NAME/results.json``."""
    lines = ["| experiment | verdict | each part: mean [95% interval], threshold | time |", "|---|---|---|---:|"]
    for name in names:
        record = json.loads((out / name / "results.json").read_text())
        verdict = {True: "**held**", False: "**did not hold**", None: "**inconclusive**"}[record["held"]]
        parts = "<br>".join(_interval(j) for j in record["judgements"])
        lines.append(f"| `{name}` | {verdict} | {parts} | {_duration(record['seconds'])} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="experiments/quick", help="where each experiment's folder goes")
    parser.add_argument("--reuse", action="store_true", help="read the results already in OUT; run nothing")
    parser.add_argument("--only", nargs="+", help="these experiments only")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from cnnlab.experiments import list_experiments

    out = Path(args.out)
    names = args.only or list_experiments()
    for name in names:
        if not args.reuse:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            _run(name, out)
    text = table(out, names)
    (out / "claims.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
