"""Each exercise solved as a student would, from its statement alone, passes its check.

These answers use plain Python, loops and tensor indexing, not the PyTorch layers the references call: a statement
that says less (or other) than its check wants fails here. They are also the solutions a teacher can start from.
"""

import math

import pytest
import torch

import cnnlab
from cnnlab.practice import EXERCISES


def layer_weights(input_shape, out_channels, kernel):
    c, h, w = input_shape
    positions = (h - kernel + 1) * (w - kernel + 1)
    units = out_channels * positions
    window = c * kernel * kernel
    return c * h * w * units + units, units * window + units, out_channels * window + out_channels


def shared_weights(image, kernel):
    kh, kw = kernel.shape
    out = torch.zeros(image.shape[0] - kh + 1, image.shape[1] - kw + 1, dtype=image.dtype)
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            out[r, c] = (image[r : r + kh, c : c + kw] * kernel).sum()
    return out


def output_size(i, k, p, s):
    return (i - k + 2 * p) // s + 1


def feature_maps(image, kernels):
    return torch.stack([sum(shared_weights(image[c], kernel[c]) for c in range(image.shape[0])) for kernel in kernels])


def pad(x, p):
    out = torch.zeros(*x.shape[:-2], x.shape[-2] + 2 * p, x.shape[-1] + 2 * p, dtype=x.dtype)
    out[..., p : p + x.shape[-2], p : p + x.shape[-1]] = x
    return out


def conv2d(x, weight, bias, stride, padding):
    x = pad(x, padding)
    n, _, h, w = x.shape
    o, _, kh, kw = weight.shape
    out = torch.zeros(n, o, output_size(h, kh, 0, stride), output_size(w, kw, 0, stride), dtype=x.dtype)
    for r in range(out.shape[2]):
        for c in range(out.shape[3]):
            window = x[:, :, r * stride : r * stride + kh, c * stride : c * stride + kw]  # N x C x kH x kW
            out[:, :, r, c] = (window[:, None] * weight[None]).sum(dim=(2, 3, 4)) + bias
    return out


def pool(x, kernel, stride, reduce):
    n, ch, h, w = x.shape
    out = torch.zeros(n, ch, output_size(h, kernel, 0, stride), output_size(w, kernel, 0, stride), dtype=x.dtype)
    for r in range(out.shape[2]):
        for c in range(out.shape[3]):
            out[:, :, r, c] = reduce(x[:, :, r * stride : r * stride + kernel, c * stride : c * stride + kernel])
    return out


def max_pool(x, kernel, stride):
    return pool(x, kernel, stride, lambda window: window.amax(dim=(2, 3)))


def mean_pool(x, kernel, stride):
    return pool(x, kernel, stride, lambda window: window.mean(dim=(2, 3)))


def mixed_pool(x, kernel, stride, a):
    return a * max_pool(x, kernel, stride) + (1 - a) * mean_pool(x, kernel, stride)


def transposed_size(i, k, p, s):
    return (i - 1) * s - 2 * p + k


def transposed_conv(x, weight, stride, padding):
    n, c, h, w = x.shape
    stretched = torch.zeros(n, c, (h - 1) * stride + 1, (w - 1) * stride + 1, dtype=x.dtype)
    stretched[:, :, ::stride, ::stride] = x
    kh, kw = weight.shape[2:]
    border_h, border_w = kh - 1 - padding, kw - 1 - padding
    framed = torch.nn.functional.pad(stretched, (border_w, border_w, border_h, border_h))  # a negative border crops
    kernel = weight.flip(-2, -1).transpose(0, 1)
    return conv2d(framed, kernel, torch.zeros(kernel.shape[0], dtype=x.dtype), 1, 0)


def lenet_c3(table, kernel):
    columns = len(table[0].split())
    return sum(row.split().count("X") for row in table) * kernel * kernel + columns


def receptive_field(layers):
    size, jump = 1, 1
    for kernel, stride in layers:
        size += (kernel - 1) * jump
        jump *= stride
    return size


def stacked_3x3(channels, layers):
    field = 2 * layers + 1
    return layers * 3 * 3 * channels * channels, field * field * channels * channels, field


def pointwise_conv(x, weight, bias):
    return (x.permute(0, 2, 3, 1) @ weight.T + bias).permute(0, 3, 1, 2)


def global_avg_pool(x):
    return x.mean(dim=(2, 3))


def inception_module(in_channels, row):
    c1, r3, c3, r5, c5, proj = row

    def conv(c_in, c_out, k):
        return c_out * c_in * k * k + c_out

    params = conv(in_channels, c1, 1) + conv(in_channels, r3, 1) + conv(r3, c3, 3)
    params += conv(in_channels, r5, 1) + conv(r5, c5, 5) + conv(in_channels, proj, 1)
    return c1 + c3 + c5 + proj, params


def residual_block(x, weight1, weight2):
    zeros = torch.zeros(x.shape[1], dtype=x.dtype)
    branch = conv2d(conv2d(x, weight1, zeros, 1, 1).relu(), weight2, zeros, 1, 1)
    return (branch + x).relu()


SOLUTIONS = {exercise.name: globals()[exercise.function_name] for exercise in EXERCISES}
"""Each exercise's answer, by the exercise's name (each function above is named as the notebook names it)."""


def test_every_exercise_has_a_solution_here():
    assert list(SOLUTIONS) == cnnlab.exercises().names


@pytest.mark.parametrize("name", [exercise.name for exercise in EXERCISES])
def test_the_student_s_solution_passes(name):
    result = cnnlab.check(name, SOLUTIONS[name])
    assert result.passed, str(result)


def test_the_solutions_are_not_the_references():
    assert all(SOLUTIONS[exercise.name] is not exercise.reference for exercise in EXERCISES)
    assert math.isclose(float(mixed_pool(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]), 2, 2, 0.5)), 3.25)


def _mistakes():
    """Student-style answers with one mistake each, and the start of the hint each must get."""

    def conv_flipped(x, weight, bias, stride, padding):
        return conv2d(x, weight.flip(-2, -1), bias, stride, padding)

    def conv_without_padding(x, weight, bias, stride, padding):
        return conv2d(x, weight, bias, stride, 0)

    def conv_without_bias(x, weight, bias, stride, padding):
        return conv2d(x, weight, torch.zeros_like(bias), stride, padding)

    def size_with_ceil(i, k, p, s):
        return math.ceil((i - k + 2 * p) / s) + 1

    def max_pool_by_mean(x, kernel, stride):
        return mean_pool(x, kernel, stride)

    def field_without_strides(layers):
        return 1 + sum(kernel - 1 for kernel, _ in layers)

    def transposed_unflipped(x, weight, stride, padding):
        return transposed_conv(x, weight.flip(-2, -1), stride, padding)

    return [
        ("conv2d", conv_flipped, "the kernel is flipped"),
        ("conv2d", conv_without_padding, "the padding is forgotten"),
        ("conv2d", conv_without_bias, "the bias is forgotten"),
        ("output-size", size_with_ceil, "ceil instead of floor"),
        ("max-pool", max_pool_by_mean, "mean instead of max"),
        ("receptive-field", field_without_strides, "the strides are ignored"),
        ("transposed-conv", transposed_unflipped, "the kernel is not flipped"),
    ]


@pytest.mark.parametrize(("name", "fn", "hint"), _mistakes(), ids=[f"{n}:{h}" for n, _, h in _mistakes()])
def test_a_student_s_own_mistake_gets_its_hint(name, fn, hint):
    result = cnnlab.check(name, fn)
    assert result.status == "failed" and result.failure.hint.startswith(hint), str(result)
