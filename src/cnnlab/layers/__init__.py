"""cnnlab's building blocks, one idea per module.

Names are imported on first use (the list is ``__init__.pyi``; see :mod:`cnnlab._lazy`), so that
``cnnlab.layers.shapes`` (pure Python) never pulls in torch.
"""

from cnnlab._lazy import attach_stub

__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
