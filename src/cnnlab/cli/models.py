"""``cnnlab models``: the registry, with each model's paper, size and cost."""

from __future__ import annotations

import argparse
import json
from typing import Any

from cnnlab.inspection.tables import TABLE_FORMATS, render_table

DESCRIPTION = """Every network cnnlab builds: its paper, parameters, MACs at the default input, and the input
sizes it accepts (the smallest computed from its layers).

examples:
  cnnlab models
  cnnlab models 'resnet*'
  cnnlab models vgg16 --format json"""

HEADERS = ["model", "paper", "params", "MACs", "input", "smallest input"]


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("models", help="list the networks with their papers, sizes and costs",
                                   description=DESCRIPTION)  # fmt: skip
    parser.add_argument("pattern", nargs="?", default="*", help="shell-style name pattern, e.g. 'resnet*'")
    parser.add_argument("--format", choices=TABLE_FORMATS, default="text", help="output format")
    parser.set_defaults(handler=run, prog=parser.prog)


def run(args: argparse.Namespace) -> int:
    from cnnlab.inspection.summary import meta_model, summarize
    from cnnlab.models import get_spec, list_models

    names = list_models(args.pattern)
    if not names:
        raise ValueError(f"no model matches {args.pattern!r}; run `cnnlab models` for the list")
    rows = []
    for name in names:
        spec = get_spec(name)
        model = meta_model(name)
        (min_h, _), (min_w, _) = model.input_size_range()
        macs = summarize(model, spec.input_size).total_macs
        author = spec.paper.split(",")[0].split()[0]
        rows.append([name, f"{author} ({spec.year})", spec.params, macs,
                     "x".join(map(str, spec.input_size)), f"{spec.input_size[0]}x{min_h}x{min_w}"])  # fmt: skip
    if args.format == "json":
        print(json.dumps([dict(zip(HEADERS, row, strict=True)) for row in rows], indent=2))
    else:
        print(render_table(HEADERS, rows, args.format))
    return 0
