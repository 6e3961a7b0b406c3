"""The lecture's first picture: who connects to whom in fully connected, locally connected and convolutional layers.

One axis of pixels, inputs below and outputs above. A line is a weight; lines of one colour are one shared
weight. Fully connected: every output sees every input. Locally connected: each output sees only its window,
with weights of its own (every line its own colour). Convolution: the same window, and the same few weights
reused at every position (one colour per place in the window).
"""

from __future__ import annotations

from cnnlab.layers.shapes import conv_output_size
from cnnlab.viz.figure import Picture, new_picture

__all__ = ["plot_connectivity"]

_PANELS = ("fully connected", "locally connected", "convolution")


def plot_connectivity(inputs: int = 8, kernel: int = 3) -> Picture:
    """Three panels of ``inputs`` input units and the outputs of a ``kernel``-wide window (stride 1, no padding).

    Each panel's title says how many weights its lines stand for.

    Raises:
        ValueError: a kernel larger than the input, or sizes below 1.
    """
    import matplotlib

    outputs = conv_output_size(inputs, kernel)
    counts = (inputs * outputs, outputs * kernel, kernel)
    picture = new_picture(1200, 380)
    axes = picture.subplots(1, 3)
    unique = matplotlib.colormaps["tab20"]
    shared = matplotlib.colormaps["Set1"]
    x_in = [i - (inputs - 1) / 2 for i in range(inputs)]
    x_out = [o - (outputs - 1) / 2 for o in range(outputs)]
    for axis, name, count in zip(axes, _PANELS, counts, strict=True):
        for o, xo in enumerate(x_out):
            sources = range(inputs) if name == "fully connected" else range(o, o + kernel)
            for tap, i in enumerate(sources):
                if name == "fully connected":
                    colour, width = "#888888", 0.8
                elif name == "locally connected":
                    colour, width = unique((o * kernel + tap) % 20), 1.8
                else:
                    colour, width = shared(tap), 1.8
                axis.plot([x_in[i], xo], [0, 1], color=colour, lw=width, zorder=1)
        axis.scatter(x_in, [0] * inputs, s=120, color="white", edgecolor="black", zorder=2)
        axis.scatter(x_out, [1] * outputs, s=120, color="#444444", edgecolor="black", zorder=2)
        axis.set_title(f"{name}\n{count} weights", fontsize=11)
        axis.text(x_in[0] - 0.7, 0, "input", ha="right", va="center", fontsize=9)
        axis.text(x_out[0] - 0.7, 1, "output", ha="right", va="center", fontsize=9)
        axis.set_xlim(x_in[0] - 2.2, x_in[-1] + 0.6)
        axis.set_ylim(-0.25, 1.25)
        axis.set_axis_off()
    picture.text(
        0.5,
        0.03,
        f"{inputs} inputs, {outputs} outputs, windows of {kernel}: a line is a weight; one colour is one shared weight",
        ha="center",
        fontsize=10,
    )
    picture.about = ", ".join(f"{name}: {count} weights" for name, count in zip(_PANELS, counts, strict=True))
    return picture
