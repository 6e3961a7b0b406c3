"""Every exercise: its reference passes its own check, each known wrong answer fails with its own hint, its examples
say what the reference computes, and the exercises keep the lecture's order and the names other tools call."""

import inspect

import pytest
import torch
import torch.nn.functional as F

import cnnlab
from cnnlab.layers import LENET5_C3_TABLE, MixedPool2d, conv_transpose2d_by_zero_insertion
from cnnlab.models.googlenet import INCEPTION_TABLE, Inception
from cnnlab.practice import EXERCISES, Exercise, find

WRONG = [(exercise, wrong) for exercise in EXERCISES for wrong in exercise.wrong_answers]


def _id(item: object) -> str:
    return item.name if isinstance(item, Exercise) else ""


@pytest.mark.parametrize("exercise", EXERCISES, ids=_id)
def test_the_reference_answer_passes_every_case(exercise):
    result = cnnlab.check(exercise.name, exercise.reference)
    assert result.passed, str(result)
    assert result.cases == result.total == len(exercise.cases()) >= 25
    assert result.failure is None


@pytest.mark.parametrize(("exercise", "wrong"), WRONG, ids=[f"{e.name}:{n}" for e in EXERCISES
                                                            for n in range(len(e.wrong_answers))])  # fmt: skip
def test_each_known_wrong_answer_fails_with_its_own_hint(exercise, wrong):
    result = cnnlab.check(exercise.name, wrong.fn)
    assert result.status == "failed", str(result)
    assert result.failure.hint == wrong.mistake, str(result)
    assert f"hint:     {wrong.mistake}" in str(result)


@pytest.mark.parametrize("exercise", EXERCISES, ids=_id)
def test_every_exercise_has_mistakes_to_name_and_a_statement_with_an_example(exercise):
    assert len(exercise.wrong_answers) >= 4
    assert len({wrong.mistake for wrong in exercise.wrong_answers}) == len(exercise.wrong_answers)
    assert "Example:" in exercise.statement and "The lecture:" in exercise.statement
    assert exercise.signature in str(exercise)
    assert list(inspect.signature(exercise.reference).parameters)[: len(exercise.params)] == list(exercise.params)


def test_the_lecture_s_order_and_the_names_other_tools_call():
    names = cnnlab.exercises().names
    assert len(names) >= 12 and len(set(names)) == len(names)
    # the lecture (seed/): types of network, feature maps, pooling, upsampling, LeNet, its successors, deeper networks
    in_order = ["layer-weights", "output-size", "conv2d", "max-pool", "transposed-conv", "lenet-c3", "stacked-3x3",
                "pointwise-conv", "inception-module", "residual-block"]  # fmt: skip
    assert [name for name in names if name in in_order] == in_order
    sections = [exercise.section for exercise in cnnlab.exercises()]
    assert sections == sorted(sections, key=sections.index)  # each section's exercises together
    assert all(exercise.function_name.isidentifier() for exercise in cnnlab.exercises())
    assert find("output-size").function_name == "output_size" and find("conv2d").function_name == "conv2d"
    assert find("output-size").params == ("i", "k", "p", "s")
    assert find("conv2d").params == ("x", "weight", "bias", "stride", "padding")
    assert find("max-pool").params == ("x", "kernel", "stride")


def test_the_cases_are_seeded_and_reach_the_edges():
    for exercise in EXERCISES:
        first, again = exercise.cases(), exercise.cases()
        assert [repr(case) for case in first] == [repr(case) for case in again], exercise.name
    notes = " ".join(case.note for name in ("conv2d", "output-size") for case in find(name).cases())
    for edge in ("stride larger than the kernel", "padding larger than half the kernel", "1x1 input", "non-square"):
        assert edge in notes
    conv_cases = [case.args for case in find("conv2d").cases()]
    assert any(w.shape[2] != w.shape[3] for _, w, _, _, _ in conv_cases)
    assert any(s > max(w.shape[2:]) for _, w, _, s, _ in conv_cases)
    assert any(2 * p > min(w.shape[2:]) for _, w, _, _, p in conv_cases)


def test_the_statements_examples_are_what_the_references_compute():
    grid = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert find("layer-weights").reference((1, 32, 32), 6, 5) == (4_821_600, 122_304, 156)
    shared = find("shared-weights").reference(torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
                                              torch.tensor([[1.0, 0.0], [0.0, -1.0]]))  # fmt: skip
    assert shared.tolist() == [[-4.0, -4.0]]
    assert find("output-size").reference(32, 5, 0, 1) == 28 and find("output-size").reference(227, 11, 0, 4) == 55
    assert find("feature-maps").reference(torch.zeros(3, 32, 32), torch.zeros(6, 3, 5, 5)).shape == (6, 28, 28)
    assert find("conv2d").reference(torch.zeros(1, 1, 32, 32), torch.zeros(6, 1, 5, 5), torch.zeros(6), 1, 0).shape \
        == (1, 6, 28, 28)  # fmt: skip
    assert find("max-pool").reference(grid, 2, 2).tolist() == [[[[4.0]]]]
    assert find("mean-pool").reference(grid, 2, 2).tolist() == [[[[2.5]]]]
    assert find("mixed-pool").reference(grid, 2, 2, 0.5).tolist() == [[[[3.25]]]]
    assert find("transposed-size").reference(4, 4, 1, 2) == 8 and find("transposed-size").reference(2, 3, 0, 1) == 4
    blocks = find("transposed-conv").reference(grid, torch.ones(1, 1, 2, 2), 2, 0)
    assert blocks[0, 0].tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    assert find("lenet-c3").reference(LENET5_C3_TABLE, 5) == 1516
    assert find("lenet-c3").reference(tuple(" ".join(["X"] * 16) for _ in range(6)), 5) == 2416
    assert find("receptive-field").reference([(3, 1), (3, 1)]) == 5
    assert find("receptive-field").reference([(5, 1), (2, 2), (5, 1), (2, 2), (5, 1)]) == 32
    assert find("stacked-3x3").reference(64, 3) == (110_592, 200_704, 7)
    assert find("pointwise-conv").reference(torch.zeros(1, 192, 28, 28), torch.zeros(64, 192), torch.zeros(64)).shape \
        == (1, 64, 28, 28)  # fmt: skip
    assert find("global-avg-pool").reference(torch.zeros(1, 1024, 7, 7)).shape == (1, 1024)
    assert find("inception-module").reference(192, (64, 96, 128, 16, 32, 32)) == (256, 163_696)
    x, zeros = torch.randn(1, 2, 4, 4, dtype=torch.float64), torch.zeros(2, 2, 3, 3, dtype=torch.float64)
    assert torch.equal(find("residual-block").reference(x, torch.randn_like(zeros), zeros), x.relu())


def test_the_references_agree_with_cnnlab_s_own_layers():
    inputs = {"3a": 192, "3b": 256, "4a": 480, "4e": 528, "5b": 832}
    for name, channels in inputs.items():
        module = Inception(channels, INCEPTION_TABLE[name], kernel_5x5=5, batch_norm=False)
        assert find("inception-module").reference(channels, tuple(INCEPTION_TABLE[name])) == (
            module.out_channels, sum(p.numel() for p in module.parameters()))  # fmt: skip
    for case in find("transposed-conv").cases()[:10]:
        x, weight, stride, padding = case.args
        assert torch.allclose(find("transposed-conv").reference(*case.args),
                              conv_transpose2d_by_zero_insertion(x, weight, None, stride, padding))  # fmt: skip
    for case in find("mixed-pool").cases()[4:10]:
        x, kernel, stride, a = case.args
        pool = MixedPool2d(kernel, stride).double()
        a = min(max(a, 0.01), 0.99)
        with torch.no_grad():
            pool.mix_logit.fill_(torch.logit(torch.tensor(a)).item())
            assert torch.allclose(pool(x), find("mixed-pool").reference(x, kernel, stride, a))


def test_a_student_s_own_loops_pass_the_three_kept_exercises():
    """Answers written as a student would, without PyTorch's layers: the checks do not need PyTorch's code path."""

    def output_size(i, k, p, s):
        return (i - k + 2 * p) // s + 1

    def conv2d(x, weight, bias, stride, padding):
        x = F.pad(x, (padding, padding, padding, padding))
        n, _, h, w = x.shape
        o, _, kh, kw = weight.shape
        out = torch.zeros(n, o, (h - kh) // stride + 1, (w - kw) // stride + 1, dtype=x.dtype)
        for b in range(n):
            for m in range(o):
                for r in range(out.shape[2]):
                    for c in range(out.shape[3]):
                        window = x[b, :, r * stride : r * stride + kh, c * stride : c * stride + kw]
                        out[b, m, r, c] = (window * weight[m]).sum() + bias[m]
        return out

    def max_pool(x, kernel, stride):
        n, ch, h, w = x.shape
        out = torch.empty(n, ch, (h - kernel) // stride + 1, (w - kernel) // stride + 1, dtype=x.dtype)
        for r in range(out.shape[2]):
            for c in range(out.shape[3]):
                window = x[:, :, r * stride : r * stride + kernel, c * stride : c * stride + kernel]
                out[:, :, r, c] = window.amax(dim=(2, 3))
        return out

    for name, fn in (("output-size", output_size), ("conv2d", conv2d), ("max-pool", max_pool)):
        result = cnnlab.check(name, fn)
        assert result.passed, str(result)
