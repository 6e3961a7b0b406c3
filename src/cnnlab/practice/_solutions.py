"""Worked answers to the exercises, written as a student would: loops and tensor indexing, not PyTorch's layers.

They are the bodies of ``notebooks/solutions.ipynb``'s cells (:mod:`cnnlab.practice.notebook` copies each
function's body under the exercise's own ``def`` line and docstring), so each one uses only what the notebook's
first cell imports (``math``, ``torch``, ``F``) and the answers to earlier exercises, by their names there
(``conv2d`` calls ``output_size``). No docstrings here: the notebook gives each function the exercise's own.
"""

# ruff: noqa: ANN001, ANN202 (the student's functions carry no annotations: the exercise's signature says it)

from __future__ import annotations

import math  # noqa: F401 (the notebook's first cell imports it; an answer may use it)

import torch
import torch.nn.functional as F

from cnnlab.practice._registry import EXERCISES

__all__ = ["SOLUTIONS"]


def layer_weights(input_shape, out_channels, kernel):
    c, h, w = input_shape
    units = out_channels * (h - kernel + 1) * (w - kernel + 1)  # output units of each layer
    window = c * kernel * kernel  # the weights one unit of the locally connected layer reads
    fully_connected = units * (c * h * w) + units  # every unit reads every input value, plus its bias
    locally_connected = units * window + units  # every unit has its own window and bias
    convolution = out_channels * window + out_channels  # one kernel and one bias per map, shared by its units
    return fully_connected, locally_connected, convolution


def shared_weights(image, kernel):
    kh, kw = kernel.shape
    out = torch.zeros(image.shape[0] - kh + 1, image.shape[1] - kw + 1, dtype=image.dtype)
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            out[r, c] = (image[r : r + kh, c : c + kw] * kernel).sum()  # the same kernel at every position
    return out


def output_size(i, k, p, s):
    return (i - k + 2 * p) // s + 1  # // is the floor


def feature_maps(image, kernels):
    maps = []
    for kernel in kernels:  # one map per kernel: the sum over the channels of each channel's own slide
        maps.append(sum(shared_weights(image[c], kernel[c]) for c in range(image.shape[0])))
    return torch.stack(maps)


def conv2d(x, weight, bias, stride, padding):
    n, _, h, w = x.shape
    o, _, kh, kw = weight.shape
    x = F.pad(x, (padding, padding, padding, padding))  # zeros on every side
    out = torch.zeros(n, o, output_size(h, kh, padding, stride), output_size(w, kw, padding, stride), dtype=x.dtype)
    for r in range(out.shape[2]):
        for c in range(out.shape[3]):
            window = x[:, :, r * stride : r * stride + kh, c * stride : c * stride + kw]  # N x C x kH x kW
            for m in range(o):
                out[:, m, r, c] = (window * weight[m]).sum(dim=(1, 2, 3)) + bias[m]
    return out


def max_pool(x, kernel, stride):
    n, ch, h, w = x.shape
    out = torch.zeros(n, ch, output_size(h, kernel, 0, stride), output_size(w, kernel, 0, stride), dtype=x.dtype)
    for r in range(out.shape[2]):
        for c in range(out.shape[3]):
            window = x[:, :, r * stride : r * stride + kernel, c * stride : c * stride + kernel]
            out[:, :, r, c] = window.amax(dim=(2, 3))  # each channel of each image on its own
    return out


def mean_pool(x, kernel, stride):
    n, ch, h, w = x.shape
    out = torch.zeros(n, ch, output_size(h, kernel, 0, stride), output_size(w, kernel, 0, stride), dtype=x.dtype)
    for r in range(out.shape[2]):
        for c in range(out.shape[3]):
            window = x[:, :, r * stride : r * stride + kernel, c * stride : c * stride + kernel]
            out[:, :, r, c] = window.mean(dim=(2, 3))
    return out


def mixed_pool(x, kernel, stride, a):
    return a * max_pool(x, kernel, stride) + (1 - a) * mean_pool(x, kernel, stride)


def transposed_size(i, k, p, s):
    stretched = (i - 1) * s + 1  # s - 1 zeros between the i inputs
    return stretched + 2 * (k - 1 - p) - k + 1  # a border of k - 1 - p zeros, then a stride-1 convolution


def transposed_conv(x, weight, stride, padding):
    n, c, h, w = x.shape
    kh, kw = weight.shape[2:]
    stretched = torch.zeros(n, c, (h - 1) * stride + 1, (w - 1) * stride + 1, dtype=x.dtype)
    stretched[:, :, ::stride, ::stride] = x  # 1. zeros between the pixels
    border_h, border_w = kh - 1 - padding, kw - 1 - padding
    framed = F.pad(stretched, (border_w, border_w, border_h, border_h))  # 2. the border (negative: a crop)
    kernel = weight.flip(-2, -1).transpose(0, 1)  # 3. flipped, O x C x kH x kW
    return conv2d(framed, kernel, torch.zeros(kernel.shape[0], dtype=x.dtype), 1, 0)


def lenet_c3(table, kernel):
    connections = sum(row.split().count("X") for row in table)  # one kernel per X
    maps = len(table[0].split())  # one bias per output map (a column)
    return connections * kernel * kernel + maps


def receptive_field(layers):
    field, jump = 1, 1  # jump: the distance, in input pixels, between neighbouring units of the layer below
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


def stacked_3x3(channels, layers):
    field = 1 + 2 * layers  # each 3x3 layer adds one pixel on each side
    stack = layers * 3 * 3 * channels * channels
    single = field * field * channels * channels
    return stack, single, field


def pointwise_conv(x, weight, bias):
    pixels = x.permute(0, 2, 3, 1)  # N x H x W x C: the channels of each pixel as a vector
    return (pixels @ weight.T + bias).permute(0, 3, 1, 2)  # the same layer at every pixel, channels back


def global_avg_pool(x):
    return x.mean(dim=(2, 3))


def inception_module(in_channels, row):
    ones, reduce3, threes, reduce5, fives, proj = row

    def conv(c_in, c_out, k):  # weights and biases of one convolution
        return c_out * c_in * k * k + c_out

    parameters = (
        conv(in_channels, ones, 1)
        + conv(in_channels, reduce3, 1)
        + conv(reduce3, threes, 3)
        + conv(in_channels, reduce5, 1)
        + conv(reduce5, fives, 5)
        + conv(in_channels, proj, 1)  # after the max pooling, which has no parameters
    )
    return ones + threes + fives + proj, parameters


def residual_block(x, weight1, weight2):
    branch = F.conv2d(F.relu(F.conv2d(x, weight1, padding=1)), weight2, padding=1)  # F(x)
    return F.relu(branch + x)  # the identity shortcut, then the second nonlinearity


SOLUTIONS = {exercise.name: globals()[exercise.function_name] for exercise in EXERCISES}
"""Each exercise's answer, by the exercise's name (each function above is named as the notebook names it)."""
