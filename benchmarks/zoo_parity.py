"""Training-step speed of cnnlab's torchvision-compatible models against torchvision's, in one process.

For each pair the two models get the same weights, then forward + backward + SGD step are timed in
alternating rounds (so drift in the machine's speed hits both alike); the best round of each counts,
since other work on the machine can only slow a round down. The ratio of images/s is printed:
ours / torchvision, 1.00 meaning parity. Run:

    .venv/bin/python benchmarks/zoo_parity.py [--size 128] [--batch 8] [--rounds 5] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
import torchvision

from cnnlab.models import create_model, load_torchvision_weights

# ours -> torchvision builder and its keyword arguments
PAIRS = {
    "resnet18": ("resnet18", {}),
    "resnet50": ("resnet50", {}),
    "vgg11": ("vgg11", {}),
    "alexnet_tv": ("alexnet", {}),
    "googlenet_tv": ("googlenet", {"aux_logits": False, "init_weights": True}),
    "inception_v3": ("inception_v3", {"aux_logits": False, "init_weights": True}),
}


def step_seconds(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()
    sync()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=128, help="input height and width (299-style nets get +75)")
    parser.add_argument("--batch", type=int, default=8, help="images per step")
    parser.add_argument("--rounds", type=int, default=7, help="alternating timing rounds per model")
    parser.add_argument("--steps", type=int, default=2, help="training steps per round")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", nargs="*", default=list(PAIRS), help="which of: " + " ".join(PAIRS))
    args = parser.parse_args()
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"torch {torch.__version__}, {name}, {torch.get_num_threads()} threads, batch {args.batch}, "
          f"training step (forward + backward + SGD), best of {args.rounds} rounds")  # fmt: skip
    print(f"{'model':14} {'input':>9} {'ours img/s':>11} {'tv img/s':>10} {'ours/tv':>8}")
    for ours_name in args.models:
        tv_name, tv_kwargs = PAIRS[ours_name]
        size = args.size + 75 if ours_name == "inception_v3" else args.size
        torch.manual_seed(0)
        theirs = getattr(torchvision.models, tv_name)(weights=None, **tv_kwargs)
        ours = load_torchvision_weights(create_model(ours_name), theirs)
        ours, theirs = ours.to(device).train(), theirs.to(device).train()
        x = torch.randn(args.batch, 3, size, size, device=device)
        y = torch.randint(0, 1000, (args.batch,), device=device)
        step_seconds(ours, x, y, 1), step_seconds(theirs, x, y, 1)  # warm-up
        ours_times, their_times = [], []
        for _ in range(args.rounds):
            ours_times.append(step_seconds(ours, x, y, args.steps))
            their_times.append(step_seconds(theirs, x, y, args.steps))
        ours_rate = args.batch / min(ours_times)
        their_rate = args.batch / min(their_times)
        print(f"{ours_name:14} {size:>4}x{size:<4} {ours_rate:11.1f} {their_rate:10.1f} {ours_rate / their_rate:8.3f}")


if __name__ == "__main__":
    main()
