"""The lab as one self-contained page: a network as a plain list of operations, run in the browser by
``static/forward.js`` with the numbers PyTorch gives, and the page that holds it (``docs/publish.md``).

``cnnlab.publish(subjects, output)`` writes the page: this package is callable, so that the verb and its
parts (``cnnlab.publish.to_program``) have one name, as ``cnnlab publish`` is one command.
"""

import sys
import types
from typing import Any

from cnnlab.publish.program import FORMAT, Operation, Program, UnsupportedLayer, to_program

__all__ = ["FORMAT", "Operation", "Program", "PublishedPage", "UnsupportedLayer", "publish", "to_program"]


def __getattr__(name: str) -> Any:
    """``publish`` and ``PublishedPage`` load with their first use (they read the drawing and summary code)."""
    if name in ("publish", "PublishedPage"):
        from cnnlab.publish import page

        return getattr(page, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _CallablePackage(types.ModuleType):
    """``cnnlab.publish(...)`` is :func:`cnnlab.publish.page.publish`: importing ``cnnlab.publish`` makes the package
    the attribute ``publish`` of ``cnnlab``, so the function and the package must be one object."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from cnnlab.publish.page import publish

        return publish(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
