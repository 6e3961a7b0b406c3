"""The registry as a table: every network's paper, parameters, MACs and the input sizes it accepts."""

from __future__ import annotations

from cnnlab.inspection.summary import meta_model, summarize
from cnnlab.inspection.tables import Table
from cnnlab.models import get_spec, list_models

__all__ = ["HEADERS", "model_table"]

HEADERS = ["model", "paper", "params", "MACs", "input", "smallest input"]


def model_table(pattern: str = "*") -> Table:
    """One row per registered model matching ``pattern`` (shell-style), built on meta tensors (no weights).

    The smallest input is computed from the model's layers, not copied from its paper.

    Raises:
        ValueError: no model matches.
    """
    names = list_models(pattern)
    if not names:
        raise ValueError(f"no model matches {pattern!r}; the models are {', '.join(list_models())}")
    rows = []
    for name in names:
        spec = get_spec(name)
        model = meta_model(name)
        min_h, min_w = model.min_input_size()
        macs = summarize(model, spec.input_size).total_macs
        author = spec.paper.split(",")[0].split()[0]
        rows.append([name, f"{author} ({spec.year})", spec.params, macs,
                     "x".join(map(str, spec.input_size)), f"{spec.input_size[0]}x{min_h}x{min_w}"])  # fmt: skip
    return Table(list(HEADERS), rows)
