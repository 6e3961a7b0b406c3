"""LocallyConnected2d (unfold + batched matmul) against the naive loop over positions and against Conv2d.

Forward + backward time of each, for LeNet-C1-sized and CIFAR-sized layers, measured in one process and
printed as ratios. Run: .venv/bin/python benchmarks/locally_connected.py [--threads N] [--batch N]
"""

from __future__ import annotations

import argparse
import platform

import torch
from torch.utils.benchmark import Timer

from cnnlab.layers.locally_connected import LocallyConnected2d, locally_connected2d_reference

SETTINGS = {
    # name: (in_channels, out_channels, input size, kernel, stride, padding)
    "LeNet-5 C1: 1x32x32 -> 6x28x28, k5": (1, 6, 32, 5, 1, 0),
    "CIFAR: 3x32x32 -> 32x32x32, k3 p1": (3, 32, 32, 3, 1, 1),
    "CIFAR stage 2: 32x16x16 -> 64x16x16, k3 p1": (32, 64, 16, 3, 1, 1),
}


def forward_backward_seconds(function, x: torch.Tensor, min_run_time: float) -> float:
    # A layer inside a network receives a dense gradient from above; `out.sum().backward()` would hand
    # it a broadcast one, whose odd strides send some kernels down slow paths no training run takes.
    upstream = torch.randn_like(function(x))

    def step() -> None:
        x.grad = None
        function(x).backward(upstream)

    return Timer("step()", globals={"step": step}).blocked_autorange(min_run_time=min_run_time).median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32, help="images per batch")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch intra-op threads")
    parser.add_argument("--min-run-time", type=float, default=1.0, help="seconds of timing per measurement")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    machine = platform.processor() or platform.machine()
    print(f"torch {torch.__version__}, {machine}, {args.threads} thread(s), batch {args.batch}, forward+backward")
    header = f"{'layer':44} {'naive loop':>11} {'ours':>9} {'Conv2d':>9} {'naive/ours':>11} {'ours/Conv2d':>12}"
    print(header)
    print("-" * len(header))
    for name, (in_c, out_c, size, k, s, p) in SETTINGS.items():
        layer = LocallyConnected2d(in_c, out_c, size, k, s, p)
        conv = torch.nn.Conv2d(in_c, out_c, k, s, p)
        x = torch.randn(args.batch, in_c, size, size, requires_grad=True)
        torch.testing.assert_close(
            layer(x), locally_connected2d_reference(x, layer.weight, layer.bias, s, p), rtol=1e-4, atol=1e-4
        )

        def naive(t: torch.Tensor, layer: LocallyConnected2d = layer, s: int = s, p: int = p) -> torch.Tensor:
            return locally_connected2d_reference(t, layer.weight, layer.bias, s, p)

        t_naive = forward_backward_seconds(naive, x, args.min_run_time)
        t_ours = forward_backward_seconds(layer, x, args.min_run_time)
        t_conv = forward_backward_seconds(conv, x, args.min_run_time)
        print(f"{name:44} {t_naive * 1e3:9.1f}ms {t_ours * 1e3:7.2f}ms {t_conv * 1e3:7.2f}ms "
              f"{t_naive / t_ours:10.1f}x {t_ours / t_conv:11.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
