"""The lab for one's own networks as one self-contained HTML file (``cnnlab publish``).

:func:`publish` turns runs (or model names) into a page that opens from disk with a double-click, offline, and
runs each network in the browser (``static/forward.js``), preparing a drawn digit as ``cnnlab predict`` does
(``static/prepare.js``). Everything is inline: scripts, style, weights, the architecture drawing, the sample
digits. The page's data block is the contract with ``static/page.js`` (``docs/publish.md``, "Page data").

The file is meant to be handed out, so it holds no absolute path, user or host name of the machine that wrote
it: runs are named by their directory's name, and the drawing's metadata is dropped. Its Content-Security-Policy
(in the template) lets nothing but its own inline code and ``data:``/``blob:`` images run or load.
"""

from __future__ import annotations

import base64
import datetime
import html
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnlab.errors import SettingError, path_setting
from cnnlab.files import file_in_the_way, write_bytes
from cnnlab.publish.explain import layer_sentences
from cnnlab.publish.program import Program, to_program
from cnnlab.run_directory import RunDirectory
from cnnlab.subjects import Subject, trained_model
from cnnlab.training.trained import TrainedModel
from cnnlab.viz.embed import element_text, script_json

__all__ = ["MAX_PAGE_BYTES", "PAGE_FORMAT", "TWIN_MAX_PARAMETERS", "PublishedPage", "page_bytes", "publish"]

PAGE_FORMAT = "cnnlab-page/1"
MAX_PAGE_BYTES = 50_000_000
"""The largest page written: a browser parses the whole file before the page runs, and a page of hundreds of
megabytes of weights is one no phone opens. Bigger networks belong in the served lab."""

STATIC = Path(__file__).parent / "static"
"""The page's parts: ``page.html`` (the template), ``page.css``, ``page.js``, ``forward.js``, ``occlusion.js`` (the
saliency view's forward passes), ``prepare.js`` and ``draw.js``, ``pad.js``, ``explain_unit.js`` and
``explain.css`` (the drawing, the drawing pad and a unit's arithmetic and its panel's style, which the served lab
shares)."""
SUFFIXES = (".html", ".htm")
TWIN_MAX_PARAMETERS = 300_000
"""The saliency view's sanity check (Adebayo et al. 2018) needs the network's twin with random weights: a second
program, as large as the network's (LeNet-5: +0.33 MB, ResNet-20: +1.45 MB of the page). Networks up to this many
parameters get one (LeNet-5's 60,000, ResNet-20's 269,722); a bigger one's page would grow by megabytes and its
twin's occlusion take as long again, so it has none."""

# The template's placeholders: the scripts and style inside their elements, the title in <title> and <h1>, the
# data block inside <script type="application/json" id="cnnlab-data">, and, where the template has one, the note.
_PLACEHOLDER = re.compile(
    r"/\*CNNLAB:(CSS|EXPLAIN_CSS|FORWARD|OCCLUSION|PREPARE|DRAW|PAD|EXPLAIN|PAGE)\*/|<!--CNNLAB:(TITLE|DATA|NOTE)-->"
)
_REQUIRED = ("/*CNNLAB:CSS*/", "/*CNNLAB:EXPLAIN_CSS*/", "/*CNNLAB:FORWARD*/", "/*CNNLAB:OCCLUSION*/",
             "/*CNNLAB:PREPARE*/", "/*CNNLAB:DRAW*/", "/*CNNLAB:PAD*/", "/*CNNLAB:EXPLAIN*/", "/*CNNLAB:PAGE*/",
             "<!--CNNLAB:TITLE-->", "<!--CNNLAB:DATA-->")  # fmt: skip


@dataclass(frozen=True)
class PublishedPage:
    """A page :func:`publish` wrote.

    Attributes:
        path: the HTML file.
        size: its size in bytes.
        models: the networks on it, by the names the page shows.
    """

    path: Path
    size: int
    models: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.path} ({_megabytes(self.size)}): {', '.join(self.models)}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "size": self.size, "models": list(self.models)}


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} KB"


def _output(output: object) -> Path:
    """The file to write, checked before any work: an HTML file's name, in a place where a file can be made."""
    path = path_setting("output", output).expanduser()
    if path.suffix.lower() not in SUFFIXES:
        raise SettingError(f"<output> {path}: the page is an HTML file, its name ends in .html or .htm")
    if path.is_dir():
        raise SettingError(f"<output> {path} is a directory; the page is written to an HTML file")
    blocked = file_in_the_way(path.parent)
    if blocked is not None:
        raise blocked
    return path


def _text(name: str, value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    raise SettingError(f"<{name}>: expected a text (a str) or None, got {value!r}")


def _subjects(subjects: object) -> list[Any]:
    """The subjects as a list: one subject (a name, a path, a run) is one, not its letters."""
    if isinstance(subjects, str | os.PathLike) or not isinstance(subjects, Sequence):
        return [subjects]
    if not subjects:
        raise SettingError("<subjects>: expected one or more runs, run directories, checkpoints or model names")
    return list(subjects)


def _identity(trained: TrainedModel) -> str:
    """What makes two subjects the same network: its checkpoint's real path, or the model name."""
    return os.path.realpath(trained.checkpoint) if trained.checkpoint is not None else f"model:{trained.name}"


def _shown_name(what: object) -> str:
    """How an error names a subject: a run directory by its name, as the page does."""
    if isinstance(what, str | os.PathLike):
        return str(what)
    return getattr(what, "name", None) or type(what).__name__


def _resolve(subjects: list[Any]) -> list[tuple[str, TrainedModel]]:
    """Each subject's model with a unique name (its run directory's, or the model's; ``-2`` for a second)."""
    resolved: list[tuple[str, TrainedModel]] = []
    seen: set[str] = set()
    for what in subjects:
        trained = trained_model(what, "subjects")
        identity = _identity(trained)
        if identity in seen:
            raise SettingError(f"<subjects>: {_shown_name(what)} is given twice; each network is put on the page once")
        seen.add(identity)
        name = trained.checkpoint.parent.name if trained.checkpoint is not None else trained.name
        taken = {n for n, _ in resolved}
        unique, count = name, 1
        while unique in taken:
            count += 1
            unique = f"{name}-{count}"
        resolved.append((unique, trained))
    return resolved


def _label(trained: TrainedModel) -> str:
    """``lenet5 trained 5 epochs on mnist5k``: what the page calls the network (no path)."""
    if trained.random_weights:
        return f"{trained.name}, random weights (untrained)"
    epochs = f" {trained.epoch} epoch{'s' if trained.epoch != 1 else ''}" if trained.epoch else ""
    average = ", moving average of the weights" if trained.weights == "ema" else ""
    return f"{trained.name} trained{epochs} on {trained.config.data}{average}"


def _facts(trained: TrainedModel) -> dict[str, Any]:
    """Parameters and multiply-accumulates (as ``cnnlab summary`` counts them), and what the run says of itself."""
    from cnnlab.inspection.summary import summarize

    summary = summarize(trained.model, trained.input_size)
    facts: dict[str, Any] = {"parameters": summary.total_params, "macs": summary.total_macs, "epochs": None,
                             "test_top1": None, "dataset": None, "date": None}  # fmt: skip
    if trained.checkpoint is None:
        return facts
    facts.update(epochs=trained.epoch or None, dataset=trained.config.data)
    try:
        result = RunDirectory(trained.checkpoint.parent).summary
    except ValueError:  # a checkpoint outside a run directory: its own facts only
        result = None
    if result is not None:
        facts["test_top1"] = result.test_top1
        facts["date"] = result.finished[:10] or None
    return facts


def _field(field: Any) -> dict[str, Any] | None:
    """A receptive field as the page draws it: per axis size, jump and first centre; ``None`` if unknown."""
    from cnnlab.inspection.receptive_field import GLOBAL

    if field is GLOBAL:
        return {"global": True}
    if not isinstance(field, tuple):
        return None
    height, width = field
    return {"size": [height.size, width.size], "jump": [height.jump, width.jump], "start": [height.start, width.start]}


def _fields(trained: TrainedModel, program: Program) -> dict[str, dict[str, Any] | None]:
    """Each tensor's receptive field: a module called once has its own (``map_layers``); an activation called
    again (LeNet's one ``squash``, a block's second ReLU) keeps its input's, a residual sum the widest input's."""
    from cnnlab.inspection.feature_maps import map_layers

    modules = {layer.name: layer for layer in map_layers(trained.model, trained.input_size)}
    fields: dict[str, dict[str, Any] | None] = {"input": None}
    for op in program.operations:
        module = modules.get(op.output)
        if module is not None and module.calls == 1:
            fields[op.output] = _field(module.field)
        elif len(op.shape) != 3:  # a vector: each number may depend on the whole input
            fields[op.output] = {"global": True} if op.op not in ("flatten", "reshape") else fields[op.inputs[0]]
        else:
            known = [fields.get(name) for name in op.inputs if fields.get(name)]
            fields[op.output] = max(known, key=lambda f: f.get("size", [1e9])[0], default=None)  # type: ignore[union-attr]
    return fields


def _svg(trained: TrainedModel) -> str:
    """The architecture as ``cnnlab draw`` draws it, inline: no XML declaration, DOCTYPE or metadata."""
    from cnnlab.api import draw

    text = draw(trained.model, trained.input_size).svg
    text = text[text.index("<svg") :]
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.DOTALL)


def _model_data(name: str, trained: TrainedModel) -> dict[str, Any]:
    """One network's entry in the page's data (``docs/publish.md``)."""
    program = to_program(trained.model, trained.input_size)
    preprocessing = trained.preprocessing
    layout = preprocessing.digit_layout
    by_output = {op.output: op for op in program.operations}
    sentences, fields = layer_sentences(program), _fields(trained, program)
    layers = [
        {"tensor": tensor, "module": by_output[tensor].name, "op": by_output[tensor].op,
         "title": sentences[tensor][0], "shape": list(by_output[tensor].shape), "field": fields.get(tensor),
         "sentence": sentences[tensor][1]}
        for tensor in program.layers
    ]  # fmt: skip
    return {
        "name": name,
        "label": _label(trained),
        "random_weights": trained.random_weights,
        "classes": list(trained.classes),
        "input_shape": list(trained.input_size),
        "gray": preprocessing.gray,
        "digit_layout": None if layout is None else {"field": layout.field, "box": layout.box, "border": layout.border},
        "normalization": {"mean": list(trained.normalization.mean), "std": list(trained.normalization.std)},
        "temperature": float(trained.logit_temperature),
        "facts": _facts(trained),
        "architecture_svg": _svg(trained),
        "program": program.to_json(),
        "layers": layers,
        "occlusion": _occlusion_data(trained),
    }


def _occlusion_data(trained: TrainedModel) -> dict[str, Any]:
    """What the saliency view needs besides the program: occlusion's square as ``cnnlab.saliency`` chooses it, what
    fills it, and the random-weights twin's program (``None``: none on this page, ``TWIN_MAX_PARAMETERS``)."""
    from cnnlab.inspection.saliency import default_occlusion, occlusion_positions

    _, height, width = trained.input_size
    square = default_occlusion(height, width)
    places = len(occlusion_positions(height, square.window, square.stride)) * len(
        occlusion_positions(width, square.window, square.stride)
    )
    return {"window": square.window, "stride": square.stride, "fill": 0.0, "places": places,
            "twin": _twin_data(trained)}  # fmt: skip


def _twin_data(trained: TrainedModel) -> dict[str, Any] | None:
    """The twin ``cnnlab.saliency(..., compare_random=True)`` compares with: the same architecture built under seed
    ``TWIN_SEED``; none for a network that is itself untrained (two random networks say nothing of learning) or
    over ``TWIN_MAX_PARAMETERS``."""
    from cnnlab.attribution import TWIN_SEED, random_twin

    parameters = sum(parameter.numel() for parameter in trained.model.parameters())
    if trained.random_weights or parameters > TWIN_MAX_PARAMETERS:
        return None
    program = to_program(random_twin(trained), trained.input_size)
    return {"seed": TWIN_SEED, "label": f"{trained.name}, random weights (seed {TWIN_SEED})",
            "program": program.to_json()}  # fmt: skip


def _samples() -> list[dict[str, str]]:
    """The first mnist5k test digit of each class as 28x28 PNGs (the lab's samples, without LeNet's border)."""
    import io

    from PIL import Image

    from cnnlab.data.samples import digit_per_class, sample_digit

    found = []
    for digit, index in enumerate(digit_per_class()):
        pixels, _ = sample_digit(index)
        image = pixels[0, 2:-2, 2:-2].numpy()  # mnist5k pads MNIST's 28x28 to 32x32
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        found.append({"name": f"digit-{digit}", "label": str(digit),
                      "png": base64.b64encode(buffer.getvalue()).decode("ascii")})  # fmt: skip
    return found


def page_data(
    models: Sequence[tuple[str, TrainedModel]], *, title: str, note: str | None, today: datetime.date | None = None
) -> dict[str, Any]:
    """The page's data block for named trained models (``docs/publish.md``, "Page data").

    Raises:
        UnsupportedLayer: a module the page cannot run, named in one line.
    """
    from cnnlab import __version__

    entries = [_model_data(name, trained) for name, trained in models]
    digits = any(entry["digit_layout"] is not None for entry in entries)
    return {
        "format": PAGE_FORMAT,
        "title": title,
        "note": note,
        "generated": (today or datetime.date.today()).isoformat(),
        "cnnlab": __version__,
        "models": entries,
        "samples": _samples() if digits else [],
    }


def _script(path: Path) -> str:
    return element_text(path, "script")


def _style(path: Path) -> str:
    return element_text(path, "style")


def assemble(template: str, data: dict[str, Any]) -> str:
    """The page: ``template`` with its placeholders filled (scripts, style, title, data).

    Raises:
        RuntimeError: a template without one of its placeholders (a broken installation, not the user's doing).
    """
    missing = [mark for mark in _REQUIRED if mark not in template]
    if missing:
        raise RuntimeError(f"the page template lacks {', '.join(missing)}")
    note = data.get("note")
    parts = {
        "CSS": _style(STATIC / "page.css"),
        "EXPLAIN_CSS": _style(STATIC / "explain.css"),
        "FORWARD": _script(STATIC / "forward.js"),
        "OCCLUSION": _script(STATIC / "occlusion.js"),
        "PREPARE": _script(STATIC / "prepare.js"),
        "DRAW": _script(STATIC / "draw.js"),
        "PAD": _script(STATIC / "pad.js"),
        "EXPLAIN": _script(STATIC / "explain_unit.js"),
        "PAGE": _script(STATIC / "page.js"),
        "TITLE": html.escape(data["title"]),
        "NOTE": html.escape(note) if note else "",
        "DATA": script_json(data),
    }
    # One pass: a filled-in part that happens to hold a placeholder's text stays as it is.
    return _PLACEHOLDER.sub(lambda match: parts[match.group(1) or match.group(2)], template)


def publish(
    subjects: Subject | Sequence[Subject], output: str | os.PathLike[str], *, title: str | None = None,
    note: str | None = None
) -> PublishedPage:  # fmt: skip
    """Write the lab for ``subjects`` as one self-contained HTML file that runs each network in the browser.

    ``cnnlab.publish(["runs/lenet5", "runs/resnet20"], "lab.html", title="Week 3")`` is
    ``cnnlab publish runs/lenet5 runs/resnet20 --output lab.html --title "Week 3"``.

    Args:
        subjects: one or several runs (:class:`cnnlab.Run`), run directories, checkpoints or model names (a
            model name: seeded random weights), shown side by side.
        output: the ``.html`` (or ``.htm``) file to write; written whole or not at all.
        title: the page's heading (default: the networks' names).
        note: a teacher's note shown under it (plain text).

    Raises:
        SettingError: an output that is not an HTML file's name or is a directory; the same network twice.
        ValueError: a subject that does not exist or cannot be read; a module the page cannot run
            (:class:`~cnnlab.publish.UnsupportedLayer`); a page over :data:`MAX_PAGE_BYTES`.
        OSError: a file where the output's folder would be, or the file cannot be written.
    """
    path = _output(output)
    title, note = _text("title", title), _text("note", note)
    models = _resolve(_subjects(subjects))
    page = page_bytes(models, title=title, note=note)
    write_bytes(path, page)
    return PublishedPage(path, len(page), tuple(name for name, _ in models))


def page_bytes(models: Sequence[tuple[str, TrainedModel]], *, title: str | None = None,
               note: str | None = None) -> bytes:  # fmt: skip
    """The page for named trained models, as the bytes of its HTML file (what :func:`publish` writes; the served
    lab answers them to "Download this page").

    Raises:
        UnsupportedLayer: a module the page cannot run, named in one line.
        ValueError: a page over :data:`MAX_PAGE_BYTES`.
    """
    names = [name for name, _ in models]
    data = page_data(models, title=title or f"cnnlab: {', '.join(names)}", note=note)
    page = assemble((STATIC / "page.html").read_text(encoding="utf-8"), data).encode("utf-8")
    if len(page) > MAX_PAGE_BYTES:
        raise ValueError(
            f"the page would be {_megabytes(len(page))}, over the {_megabytes(MAX_PAGE_BYTES)} a published page may "
            f"hold: show these networks in the served lab (cnnlab lab) instead"
        )
    return page
