"""Exercises of the lecture's "Upsampling": the transposed convolution's size, and the layer by zero insertion."""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from cnnlab.layers.shapes import transposed_output_size
from cnnlab.practice._exercise import Case, Exercise, WrongAnswer, randn
from cnnlab.practice._values import TENSOR, WHOLE

__all__ = ["EXERCISES"]

SECTION = "Upsampling"

# -------------------------------------------------------------------------------------------- transposed-size


def transposed_size(i: int, k: int, p: int, s: int) -> int:
    """The reference: cnnlab's size arithmetic (its order of arguments is i, k, s, p)."""
    return transposed_output_size(i, k, s, p)


def _fits(i: int, k: int, p: int, s: int) -> bool:
    return (i - 1) * s - 2 * p + k >= 1


def _transposed_size_cases(rng: random.Random) -> list[Case]:
    cases = [
        Case((2, 3, 0, 1), "stride 1: the input grows by k - 1"),
        Case((4, 4, 1, 2), "doubling: kernel 4, stride 2, padding 1 (DCGAN's upsampling)"),
        Case((1, 1, 0, 1), "1x1 input and kernel"),
        Case((3, 2, 0, 4), "stride larger than the kernel: gaps of zeros in the output"),
        Case((5, 3, 2, 2), "padding larger than half the kernel: it crops"),
    ]
    while len(cases) < 200:
        i, k, p, s = rng.randint(1, 20), rng.randint(1, 7), rng.randint(0, 4), rng.randint(1, 5)
        if _fits(i, k, p, s):
            cases.append(Case((i, k, p, s)))
    return cases


TRANSPOSED_SIZE = Exercise(
    name="transposed-size",
    section=SECTION,
    title="the size of a transposed convolution's output from input size i, kernel k, padding p and stride s",
    params=("i", "k", "p", "s"),
    returns="int",
    statement="""
        Return the output size along one axis of a transposed convolution (torch.nn.ConvTranspose2d) with input
        size i, kernel size k, padding p and stride s: the input size of the convolution it undoes.

        Example: fn(4, 4, 1, 2) == 8 (kernel 4, stride 2, padding 1 doubles the size); fn(2, 3, 0, 1) == 4.

        The lecture: a transposed convolution "adds zeros between the feature map, and then blurs it using a
        learned convolution kernel": s - 1 zeros between the i inputs make (i - 1)s + 1 values, a border of
        k - 1 - p zeros on each side, then a stride-1 convolution with the k-wide kernel:
        o = (i - 1)s - 2p + k (Dumoulin & Visin 2016, Relationship 14).
    """,
    reference=transposed_size,
    make_cases=_transposed_size_cases,
    kind=WHOLE,
    wrong_answers=(
        WrongAnswer("the convolution's formula: a transposed convolution grows the map, o = (i - 1)s - 2p + k",
                    lambda i, k, p, s: (i - k + 2 * p) // s + 1),
        WrongAnswer("the padding is added: in a transposed convolution p crops, o = (i - 1)s - 2p + k",
                    lambda i, k, p, s: (i - 1) * s + 2 * p + k),
        WrongAnswer("the padding is counted once: it crops on both sides, 2p",
                    lambda i, k, p, s: (i - 1) * s - p + k),
        WrongAnswer("i x s instead of (i - 1) x s: zeros go between the inputs, not after the last one",
                    lambda i, k, p, s: i * s - 2 * p + k),
        WrongAnswer("the kernel's reach is forgotten: each input spreads over k outputs, adding k - 1",
                    lambda i, k, p, s: (i - 1) * s - 2 * p + 1),
        WrongAnswer("the output is taken as stride x input: the kernel and the padding change it too",
                    lambda i, k, p, s: i * s),
    ),
)  # fmt: skip

# -------------------------------------------------------------------------------------------- transposed-conv


def transposed_conv(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int) -> torch.Tensor:
    """The reference: PyTorch's ``conv_transpose2d`` (cnnlab's zero-insertion version equals it; see its tests)."""
    return F.conv_transpose2d(x, weight, stride=stride, padding=padding)


def _stretched(x: torch.Tensor, step: int) -> torch.Tensor:
    n, c, h, w = x.shape
    out = x.new_zeros(n, c, (h - 1) * step + 1, (w - 1) * step + 1)
    out[:, :, ::step, ::step] = x
    return out


def _zero_insertion(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int, *, flip: bool = True,
                    swap: bool = True, step: int | None = None, border: int = -1) -> torch.Tensor:  # fmt: skip
    """The lecture's recipe, with one of its steps done wrong (each keyword a step; ``border``: the sign of the
    padding in the border of ``k - 1 - padding``, 0 for no border at all)."""
    k_h, k_w = weight.shape[2:]
    b_h, b_w = (k_h - 1 + border * padding, k_w - 1 + border * padding) if border else (0, 0)
    kernel = weight.flip(-2, -1) if flip else weight
    kernel = kernel.transpose(0, 1) if swap else kernel
    return F.conv2d(F.pad(_stretched(x, stride if step is None else step), (b_w, b_w, b_h, b_h)), kernel)


def _transposed_cases(rng: random.Random) -> list[Case]:
    def case(n: int, c_in: int, c_out: int, hw: tuple[int, int], k: tuple[int, int], s: int, p: int,
             note: str = "") -> Case:  # fmt: skip
        return Case((randn(rng, n, c_in, *hw), randn(rng, c_in, c_out, *k), s, p), note)

    cases = [
        case(1, 1, 1, (1, 1), (1, 1), 1, 0, "1x1 input and kernel"),
        case(1, 1, 1, (2, 2), (2, 2), 2, 0, "2x2 kernel, stride 2: every input becomes a 2x2 block"),
        case(1, 2, 2, (3, 4), (3, 2), 2, 0, "non-square input and kernel"),
        case(1, 1, 2, (2, 3), (2, 2), 3, 0, "stride larger than the kernel"),
        case(2, 2, 1, (4, 4), (4, 4), 2, 1, "kernel 4, stride 2, padding 1: doubles the size"),
        case(1, 2, 2, (3, 3), (3, 3), 1, 2, "padding larger than half the kernel: it crops"),
    ]
    while len(cases) < 25:
        h, w, s = rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 3)
        k = (rng.randint(1, 4), rng.randint(1, 4))
        p = rng.randint(0, min(k) - 1)
        cases.append(case(rng.randint(1, 2), rng.randint(1, 3), rng.randint(1, 3), (h, w), k, s, p))
    return cases


TRANSPOSED_CONV = Exercise(
    name="transposed-conv",
    section=SECTION,
    title="a transposed convolution by zero insertion: stretch with zeros, pad, convolve with the flipped kernel",
    params=("x", "weight", "stride", "padding"),
    returns="tensor N x O x H' x W'",
    statement="""
        x is N x C x H x W; weight is C x O x kH x kW, the layout of torch.nn.ConvTranspose2d (input channels
        first). Compute torch.nn.functional.conv_transpose2d(x, weight, stride=stride, padding=padding) the
        lecture's way:

        1. insert stride - 1 zeros between neighbouring pixels: (H - 1) * stride + 1 rows, likewise columns;
        2. pad with kH - 1 - padding zeros on the top and bottom, kW - 1 - padding on the left and right;
        3. convolve (stride 1, exercise conv2d) with the kernel flipped in both axes and its two channel axes
           swapped (weight.flip(-2, -1).transpose(0, 1), O x C x kH x kW).

        Example: a 1 x 1 x 2 x 2 input, a 1 x 1 x 2 x 2 kernel, stride 2: each input pixel times the kernel, as
        a 2x2 block of the 1 x 1 x 4 x 4 output. H' = (H - 1) * stride - 2 * padding + kH (transposed-size).

        The lecture: upsampling "is done using a transposed convolution"; it "adds zeros between the feature map,
        and then blurs it using a learned convolution kernel" (Dumoulin & Visin 2016, Sec. 4;
        cnnlab.layers.conv_transpose2d_by_zero_insertion).
    """,
    reference=transposed_conv,
    make_cases=_transposed_cases,
    kind=TENSOR,
    wrong_answers=(
        WrongAnswer("the kernel is not flipped: the transpose sends input pixel (r, c) to outputs (r, c) + (u, v), "
                    "which the convolution reads back with the kernel flipped",
                    lambda x, w, s, p: _zero_insertion(x, w, s, p, flip=False)),
        WrongAnswer("the channel axes are not swapped: weight is C x O x kH x kW, a convolution wants "
                    "O x C x kH x kW", lambda x, w, s, p: _zero_insertion(x, w, s, p, swap=False)),
        WrongAnswer("no zeros are inserted: the stride is ignored",
                    lambda x, w, s, p: _zero_insertion(x, w, s, p, step=1)),
        WrongAnswer("stride zeros are inserted between pixels: it is stride - 1",
                    lambda x, w, s, p: _zero_insertion(x, w, s, p, step=s + 1)),
        WrongAnswer("the border of k - 1 - padding zeros is forgotten",
                    lambda x, w, s, p: _zero_insertion(x, w, s, p, border=0)),
        WrongAnswer("the border is k - 1 + padding: the padding of a transposed convolution crops, k - 1 - padding",
                    lambda x, w, s, p: _zero_insertion(x, w, s, p, border=1)),
    ),
)  # fmt: skip

EXERCISES = (TRANSPOSED_SIZE, TRANSPOSED_CONV)
