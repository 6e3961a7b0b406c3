"""cnnlab: build, size, train, inspect and compare convolutional neural networks.

From Python, one call per idea, each returning a value that prints as the command's output in a terminal
and shows as HTML in Jupyter::

    import cnnlab
    cnnlab.summary("googlenet")                  # a ModelSummary, layer by layer
    run = cnnlab.train("lenet5", epochs=5)       # a Run: its config, metrics, summary, model
    run.evaluate(); run.predict(["seven.png"]); run.export("lenet5.onnx"); run.report("report.html")
    cnnlab.show.feature_maps(run, layers=["c1", "c3"])
    cnnlab.experiment("degradation", seeds=[0])

The public names are listed once, in ``__init__.pyi`` (which editors read too), and each is imported on
first use, so that ``import cnnlab`` stays instant and pure arithmetic (``cnnlab.layers.shapes``) never
loads torch.
"""

import importlib
import os

__version__ = "0.1.0"


def _public_names() -> dict[str, tuple[str, str | None]]:
    """``name -> (module, attribute)`` from the ``from .module import attribute as name`` lines of the stub.

    An attribute of ``None`` is a submodule (``from . import show as show``). Read by hand, not with ``ast``:
    importing ``ast`` would cost ``import cnnlab`` a third of its time.
    """
    path = os.path.join(os.path.dirname(__file__), "__init__.pyi")
    with open(path, encoding="utf-8") as stub:
        lines = [line.split("#", 1)[0].strip() for line in stub]
    names: dict[str, tuple[str, str | None]] = {}
    for line in lines:
        if not line.startswith("from ."):
            continue
        module, _, imported = line[len("from ") :].partition(" import ")
        for item in imported.strip("()").split(","):
            attribute, _, name = item.strip().partition(" as ")
            name = name.strip() or attribute
            if module == ".":
                names[name] = (f"{__name__}.{attribute}", None)
            else:
                names[name] = (f"{__name__}{module}", attribute)
    return names


_PUBLIC = _public_names()
__all__ = ["__version__", *sorted(_PUBLIC)]


def __getattr__(name: str) -> object:
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _PUBLIC[name]
    value = importlib.import_module(module)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
