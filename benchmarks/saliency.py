"""How long a saliency map takes: each method on LeNet-5 and ResNet-20, against captum in the same process.

Each map is timed from the normalised input to the ``(H, W)`` map (the network's forward and backward passes, or
its occlusion passes), the median of ``--repeat`` runs after one warm-up. The baseline is captum, the well-kept
PyTorch library the tests hold our maps against: ``Saliency`` (its per-channel map reduced as ours is),
``LayerGradCam`` with its map scaled up bilinearly, ``Occlusion`` of the softmax with the same square and steps.
``cnnlab.saliency`` adds to this the image's preparation and the figure, which are not timed here. Run:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/saliency.py [--repeat 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch
from captum.attr import LayerAttribution, LayerGradCam, Occlusion, Saliency
from torch import nn

from cnnlab.inspection.feature_maps import map_layers
from cnnlab.inspection.saliency import Occlusion as Square
from cnnlab.inspection.saliency import default_cam_layer, default_occlusion, grad_cam, gradient_map, occlusion_map
from cnnlab.models import create_model

NETWORKS = ("lenet5", "resnet20")


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    work()  # warm-up: first calls allocate
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def cases(
    model: nn.Module, x: torch.Tensor, target: int
) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """``method -> (ours, captum's)`` for one network and input."""
    layer = default_cam_layer(map_layers(model, tuple(x.shape[1:]))).name
    module = dict(model.named_modules())[layer]
    square = default_occlusion(*x.shape[2:])

    def probabilities(batch: torch.Tensor) -> torch.Tensor:
        return torch.softmax(model(batch), dim=1)

    def captum_cam() -> torch.Tensor:
        found = LayerGradCam(model, module).attribute(x, target=target, relu_attributions=True)
        return LayerAttribution.interpolate(found, tuple(x.shape[2:]), interpolate_mode="bilinear")

    def captum_occlusion() -> torch.Tensor:
        window = (x.shape[1], square.window, square.window)
        return Occlusion(probabilities).attribute(x, sliding_window_shapes=window, strides=(1, square.stride,
                                                  square.stride), baselines=0.0, target=target)  # fmt: skip

    return {
        "gradient": (
            lambda: gradient_map(model, x, target),
            lambda: Saliency(model).attribute(x.clone().requires_grad_(True), target=target, abs=True).amax(dim=1),
        ),
        f"gradcam ({layer})": (lambda: grad_cam(model, x, target, layer), captum_cam),
        f"occlusion ({square.window}x{square.window} by {square.stride})": (
            lambda: occlusion_map(model, x, target, Square(square.window, square.stride)),
            captum_occlusion,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (the median is printed)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{args.threads} thread(s), load {os.getloadavg()[0]:.1f}; median of {args.repeat}")  # fmt: skip
    print(f"{'network':10} {'method':28} {'cnnlab ms':>10} {'captum ms':>10} {'captum / cnnlab':>16}")
    for name in NETWORKS:
        torch.manual_seed(0)
        model = create_model(name).eval()
        x = torch.randn(1, *model.spec.input_size)
        for method, (ours, theirs) in cases(model, x, target=3).items():
            mine, baseline = median_seconds(ours, args.repeat), median_seconds(theirs, args.repeat)
            print(f"{name:10} {method:28} {mine * 1e3:10.1f} {baseline * 1e3:10.1f} {baseline / mine:16.2f}")


if __name__ == "__main__":
    main()
