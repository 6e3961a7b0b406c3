"""How long `cnnlab animate` takes: every case of the conv_arithmetic set and the 9x9 inputs, to a GIF.

Each case is timed from the call to the GIF's bytes (frames drawn, GIF encoded), the median of ``--repeat``
runs. The baseline, run in this process on the same cases, is how such animations are usually made: one
matplotlib figure per frame (the grids and the kernel as rectangles, the numbers and the running sum as
text), rendered with Agg and written as a GIF by Pillow. The target: an animation of an input up to 9x9
in under 1 s on 2 cores. Run:

    .venv/bin/python benchmarks/animate.py [--repeat 3] [--baseline-cases 3] [--quick]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from PIL import Image

from cnnlab.viz.animation import CONV_ARITHMETIC, INPUT, Animation, AnimationCase, animate

NINE_BY_NINE = (
    AnimationCase("9x9 conv k3", "", "conv", {"input": 9, "kernel": 3}),
    AnimationCase("9x9 conv k3 p1", "", "conv", {"input": 9, "kernel": 3, "padding": 1}),
    AnimationCase("9x9 conv k3 d2 p2", "", "conv", {"input": 9, "kernel": 3, "dilation": 2, "padding": 2}),
    AnimationCase("9x9 max pool k3 s1", "", "pool", {"input": 9, "kernel": 3, "stride": 1}),
    AnimationCase("9x9 transposed k3 s2 (19x19)", "", "transposed", {"input": 9, "kernel": 3, "stride": 2}),
)


def ours(case: AnimationCase) -> tuple[int, int]:
    """Frames and GIF bytes of cnnlab's animation (drawn afresh)."""
    animation = case.animate(values=True)
    return len(animation.positions), len(animation.gif())


def matplotlib_baseline(case: AnimationCase) -> tuple[int, int]:
    """The same frames drawn the usual way: a matplotlib figure per frame, then a GIF by Pillow."""
    animation = animate(case.kind, values=True, **case.arguments)  # for the geometry and numbers only
    frames = [_matplotlib_frame(animation, n) for n in range(len(animation.positions))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=600, loop=0)
    return len(frames), len(buffer.getvalue())


def _matplotlib_frame(animation: Animation, now: int) -> Image.Image:
    rows, cols = animation.cells.shape
    out_rows, out_cols = animation.output_shape
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(8, 4.5), dpi=80)
    for gy in range(rows):
        for gx in range(cols):
            colour = "#dbe9f6" if animation.cells[gy, gx] == INPUT else "#ececec"
            left.add_patch(Rectangle((gx, rows - gy - 1), 1, 1, facecolor=colour, edgecolor="#333"))
            left.text(gx + 0.5, rows - gy - 0.5, f"{animation.grid_values[gy, gx]:.0f}", ha="center", va="center")
    for gy, gx in animation.windows[now]:
        left.add_patch(Rectangle((gx, rows - gy - 1), 1, 1, facecolor="#1f77b4", alpha=0.45, edgecolor="#1f77b4"))
    for n, (y, x) in enumerate(animation.positions):
        colour = "#2ca25f" if n == now else "#c7e9c0" if n < now else "white"
        right.add_patch(Rectangle((x, out_rows - y - 1), 1, 1, facecolor=colour, edgecolor="#333"))
        if n <= now:
            right.text(x + 0.5, out_rows - y - 0.5, f"{animation.outputs[y, x]:.0f}", ha="center", va="center")
    kernel = animation.kernel if animation.kernel is not None else np.zeros(animation.kernel_shape)
    for ky, kx in np.ndindex(kernel.shape):
        middle.add_patch(Rectangle((kx, kernel.shape[0] - ky - 1), 1, 1, facecolor="#9ec4df", edgecolor="#1f77b4"))
        middle.text(kx + 0.5, kernel.shape[0] - ky - 0.5, f"{kernel[ky, kx]:.0f}", ha="center", va="center")
    if animation.sums is not None:
        figure.text(0.02, 0.12, animation.sums[now].text(), fontsize=9)
    grids = ((left, (rows, cols)), (middle, kernel.shape), (right, (out_rows, out_cols)))
    for axes, (height, width) in grids:
        axes.set_xlim(0, width)
        axes.set_ylim(0, height)
        axes.set_aspect("equal")
        axes.axis("off")
    figure.suptitle(animation.title.splitlines()[0], fontsize=9)
    figure.text(0.02, 0.02, animation.formula, fontsize=7, va="bottom")
    figure.canvas.draw()
    frame = Image.fromarray(np.asarray(figure.canvas.buffer_rgba())[..., :3].copy())
    plt.close(figure)
    return frame.quantize(colors=64)


def median_seconds(function: object, case: AnimationCase, repeat: int) -> tuple[float, int, int]:
    times, result = [], (0, 0)
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(case)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times), *result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (the median is shown)")
    parser.add_argument("--baseline-cases", type=int, default=3, help="cases also drawn the matplotlib way")
    parser.add_argument("--quick", action="store_true", help="one run per case, the baseline on one case")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.baseline_cases = 1, 1
    print(f"{platform.machine()}, {os.cpu_count()} cores; median of {args.repeat} run(s), frames drawn and GIF written")
    print(f"{'case':<42} {'frames':>6} {'ours s':>7} {'kB':>6} {'matplotlib s':>13} {'ratio':>7}")
    cases = [*CONV_ARITHMETIC, *NINE_BY_NINE]
    slowest_nine = 0.0
    ratios = []
    for index, case in enumerate(cases):
        seconds, frames, size = median_seconds(ours, case, args.repeat)
        baseline = ""
        if index < args.baseline_cases:
            their_seconds, _, _ = median_seconds(matplotlib_baseline, case, 1)
            ratios.append(their_seconds / seconds)
            baseline = f"{their_seconds:13.2f} {their_seconds / seconds:6.1f}x"
        print(f"{case.name:<42} {frames:6d} {seconds:7.3f} {size / 1e3:6.0f} {baseline}")
        if case in NINE_BY_NINE:
            slowest_nine = max(slowest_nine, seconds)
    print(f"matplotlib per frame / ours: {statistics.median(ratios):.1f}x faster (median of {len(ratios)} cases)")
    verdict = "met" if slowest_nine < 1.0 else "NOT met"
    print(f"target: every 9x9 input under 1 s: {verdict} (slowest {slowest_nine:.2f} s)")


if __name__ == "__main__":
    main()
