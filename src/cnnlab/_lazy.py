"""Public names loaded on first use, declared once in a package's ``__init__.pyi``.

A package's stub lists its public names as ``from .module import attribute as name`` lines, which editors and
type checkers read. :func:`attach_stub` reads the same lines at import time and returns the package's
``__getattr__``, ``__dir__`` and ``__all__``, so that each name is imported when first used (as
``lazy_loader.attach_stub`` does, without importing ``ast``, which would cost ``import cnnlab`` a third of its
time). ``import cnnlab`` stays instant and ``cnnlab.layers.shapes`` never loads torch.
"""

import importlib
import os
from collections.abc import Callable


def _stub_names(package: str, init_file: str) -> dict[str, tuple[str, str | None]]:
    """``name -> (module, attribute)``; an attribute of ``None`` is a submodule (``from . import show as show``)."""
    path = os.path.join(os.path.dirname(init_file), "__init__.pyi")
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
                names[name] = (f"{package}.{attribute}", None)
            else:
                names[name] = (f"{package}{module}", attribute)
    return names


def attach_stub(package: str, init_file: str) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """``__getattr__, __dir__, __all__`` for the package ``package`` whose ``__init__.py`` is ``init_file``."""
    names = _stub_names(package, init_file)
    public = sorted(names)

    def load(name: str) -> object:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = names[name]
        value = importlib.import_module(module)
        return value if attribute is None else getattr(value, attribute)

    def names_of_package() -> list[str]:
        return public

    return load, names_of_package, public
