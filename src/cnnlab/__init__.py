"""cnnlab: build, size, train, inspect and compare convolutional neural networks.

From Python, one call per idea, each returning a value that prints as the command's output in a terminal
and shows as HTML in Jupyter::

    import cnnlab
    cnnlab.summary("googlenet")                  # a ModelSummary, layer by layer
    run = cnnlab.train("lenet5", epochs=5)       # a Run: its config, metrics, summary, model
    run.evaluate(); run.predict(["seven.png"]); run.export("lenet5.onnx"); run.report("report.html")
    cnnlab.show.feature_maps(run, layers=["c1", "c3"])
    cnnlab.experiment("degradation", seeds=[0])
    cnnlab.exercises(); cnnlab.check("conv2d", my_conv2d)   # the lecture as exercises, checked with hints

The public names are listed once, in ``__init__.pyi`` (which editors read too), and each is imported on
first use (:mod:`cnnlab._lazy`), so that ``import cnnlab`` stays instant and pure arithmetic
(``cnnlab.layers.shapes``) never loads torch.
"""

from cnnlab._lazy import attach_stub

__version__ = "0.1.0"

__getattr__, _, _public = attach_stub(__name__, __file__)
__all__ = ["__version__", *_public]


def __dir__() -> list[str]:
    return __all__
