"""The lab as one self-contained page: a network as a plain list of operations, run in the browser by
``static/forward.js`` with the numbers PyTorch gives (``docs/publish.md``)."""

from cnnlab.publish.program import FORMAT, Operation, Program, UnsupportedLayer, to_program

__all__ = ["FORMAT", "Operation", "Program", "UnsupportedLayer", "to_program"]
