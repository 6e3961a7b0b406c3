"""The saliency methods against captum (the oracle, a test dependency only) and against loops written here.

captum's ``Saliency`` (``abs=True``, the largest over the channels as Simonyan et al. take it) and ``LayerGradCam``
(``relu_attributions=True``; its map scaled up with captum's own bilinear ``LayerAttribution.interpolate``) must give
our maps to 1e-5 on LeNet-5 (gray input), a CIFAR ResNet (in-place ReLUs) and GoogLeNet with its auxiliary heads.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab.inspection.feature_maps import map_layers
from cnnlab.inspection.saliency import (
    CamLayerError,
    Occlusion,
    check_cam_layer,
    class_scores,
    default_cam_layer,
    default_occlusion,
    grad_cam,
    gradient_map,
    occlusion_map,
    occlusion_positions,
    randomised_twin,
    rank_correlation,
)
from cnnlab.models import create_model

captum_attr = pytest.importorskip("captum.attr")

TOLERANCE = 1e-5


def _network(name: str, **options: object) -> nn.Module:
    torch.manual_seed(0)
    return create_model(name, **options).eval()


def _input(model: nn.Module, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(1, *model.spec.input_size, generator=generator)


NETWORKS = {
    "lenet5": ({}, "c3"),
    "resnet20": ({}, "layer3.2"),
    "googlenet": ({"aux_logits": True}, "inception5b"),
}


@pytest.fixture(scope="module", params=list(NETWORKS))
def network(request):
    options, layer = NETWORKS[request.param]
    model = _network(request.param, **options)
    return request.param, model, _input(model), layer


def _largest(scores: torch.Tensor) -> int:
    return int(class_scores(scores).argmax())


def test_gradient_equals_captum_saliency(network):
    _, model, x, _ = network
    target = _largest(model(x))
    ours = gradient_map(model, x, target)
    theirs = captum_attr.Saliency(model).attribute(x.clone().requires_grad_(True), target=target, abs=True)
    assert ours.shape == x.shape[2:]
    assert torch.allclose(ours, theirs[0].amax(dim=0), atol=TOLERANCE, rtol=0)
    assert ours.max() > 0


def test_grad_cam_equals_captum_layer_grad_cam(network):
    name, model, x, layer = network
    assert default_cam_layer(map_layers(model, model.spec.input_size)).name == layer
    target = 3
    ours = grad_cam(model, x, target, layer)
    module = dict(model.named_modules())[layer]
    theirs = captum_attr.LayerGradCam(model, module).attribute(x, target=target, relu_attributions=True).detach()
    assert torch.allclose(ours.layer_map, theirs[0, 0], atol=TOLERANCE, rtol=0), name
    scaled = captum_attr.LayerAttribution.interpolate(theirs, tuple(x.shape[2:]), interpolate_mode="bilinear")
    assert torch.allclose(ours.map, scaled[0, 0], atol=TOLERANCE, rtol=0), name
    assert ours.map.shape == x.shape[2:] and ours.layer_map.min() >= 0


def test_auxiliary_heads_in_training_mode_are_read_by_their_main_logits():
    model = _network("googlenet", aux_logits=True).train()  # dropout off is not needed: one pass, one answer
    output = model.forward_train(_input(model))
    assert class_scores(output) is output.logits
    assert class_scores((torch.ones(1, 3), torch.zeros(1, 3))).sum() == 3
    with pytest.raises(TypeError, match="not class scores"):
        class_scores({"logits": 1})


class _InPlace(nn.Module):
    """A convolution whose output the next ReLU overwrites in place: the trap of pytorch issue 61519."""

    def __init__(self, inplace: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.relu = nn.ReLU(inplace=inplace)
        self.head = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(inplace=inplace), nn.Flatten(),
                                  nn.Linear(4 * 8 * 8, 3))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.relu(self.conv(x)))


def test_grad_cam_reads_the_layer_before_an_in_place_relu_overwrites_it():
    torch.manual_seed(0)
    inplace = _InPlace(inplace=True).eval()
    copy = _InPlace(inplace=False).eval()
    copy.load_state_dict(inplace.state_dict())
    x = torch.randn(1, 1, 8, 8)
    ours = grad_cam(inplace, x, 1, "conv")
    reference = captum_attr.LayerGradCam(copy, copy.conv).attribute(x, target=1, relu_attributions=True).detach()
    assert torch.allclose(ours.layer_map, reference[0, 0], atol=TOLERANCE, rtol=0)
    assert (ours.layer_map > 0).any()
    assert torch.equal(inplace(x), copy(x))  # the hook left the model as it was


def _occlusion_by_loop(model: nn.Module, x: torch.Tensor, target: int, window: int, stride: int) -> np.ndarray:
    """Zeiler and Fergus's occlusion, the slow way: every place of the square, one forward pass each."""
    height, width = x.shape[2:]

    def probability(batch: torch.Tensor) -> float:
        return float(torch.softmax(model(batch), dim=1)[0, target])

    tops = sorted({*range(0, height - window + 1, stride), height - window})
    lefts = sorted({*range(0, width - window + 1, stride), width - window})
    total, count = np.zeros((height, width)), np.zeros((height, width))
    with torch.no_grad():
        original = probability(x)
        for top in tops:
            for left in lefts:
                hidden = x.clone()
                hidden[:, :, top : top + window, left : left + window] = 0.0
                total[top : top + window, left : left + window] += original - probability(hidden)
                count[top : top + window, left : left + window] += 1
    return total / count


@pytest.mark.parametrize(("window", "stride"), [(8, 2), (5, 3), (32, 1), (3, 3)])
def test_occlusion_equals_a_loop(window, stride):
    model = _network("lenet5").double()  # in float32 a batch and a single image round differently, by 1e-6
    x = _input(model).double()
    ours = occlusion_map(model, x, 4, Occlusion(window, stride))
    assert np.allclose(ours.numpy(), _occlusion_by_loop(model, x, 4, window, stride), atol=1e-6, rtol=0)


def test_occlusion_equals_captum_where_the_steps_reach_the_edge():
    model = _network("lenet5")
    x = _input(model)

    def probability(batch: torch.Tensor) -> torch.Tensor:
        return torch.softmax(model(batch), dim=1)

    theirs = captum_attr.Occlusion(probability).attribute(x, sliding_window_shapes=(1, 8, 8), strides=(1, 2, 2),
                                                           baselines=0.0, target=6)  # fmt: skip
    ours = occlusion_map(model, x, 6, Occlusion(8, 2))
    assert torch.allclose(ours, theirs[0, 0], atol=1e-6, rtol=0)


def test_occlusion_is_batched_past_one_chunk_and_refuses_a_window_larger_than_the_input():
    model = _network("lenet5").double()
    x = _input(model).double()
    assert len(occlusion_positions(32, 2, 1)) ** 2 > 64  # 961 places: 16 chunks
    assert np.allclose(occlusion_map(model, x, 2, Occlusion(2, 1)).numpy(), _occlusion_by_loop(model, x, 2, 2, 1),
                       atol=1e-6)  # fmt: skip
    with pytest.raises(ValueError, match="an occlusion window of 33 does not fit the 32x32 input"):
        occlusion_map(model, x, 0, Occlusion(33, 1))
    with pytest.raises(ValueError, match="a stride of 5 past a window of 4 leaves pixels never hidden"):
        occlusion_map(model, x, 0, Occlusion(4, 5))


def test_occlusion_positions_cover_every_pixel():
    assert occlusion_positions(32, 8, 2) == list(range(0, 25, 2))
    assert occlusion_positions(10, 4, 4) == [0, 4, 6]  # the last place added: rows 8-9 are hidden too
    assert occlusion_positions(5, 5, 3) == [0]
    assert default_occlusion(32, 32) == Occlusion(8, 2)
    assert default_occlusion(224, 224) == Occlusion(56, 14)
    assert default_occlusion(3, 100) == Occlusion(1, 1)


def test_default_layer_is_the_last_convolution_with_maps_of_two_by_two_or_more():
    lenet = map_layers(_network("lenet5"), (1, 32, 32))
    assert default_cam_layer(lenet).name == "c3"  # c5 is 1x1; s4 is a pooling
    assert default_cam_layer(map_layers(_network("mlp"), (1, 32, 32))) is None
    assert default_cam_layer(map_layers(_network("vgg11"), (3, 224, 224))).name.startswith("features")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("c5", r"c5's maps are 1x1: a class activation map of one position says nothing about where; Grad-CAM can "
               r"read c1, s2, c3, s4$"),
        ("f6", r"^f6 \(Linear\) outputs a vector, not feature maps"),
        ("squash", r"^squash runs 6 times in one pass \(a shared module\)"),
        ("c9", r"^lenet5 has no layer 'c9'; Grad-CAM can read c1, s2, c3, s4$"),
    ],
)  # fmt: skip
def test_layers_grad_cam_cannot_read_are_refused_in_one_line(name, message):
    layers = map_layers(_network("lenet5"), (1, 32, 32))
    with pytest.raises(CamLayerError, match=message) as refused:
        check_cam_layer(layers, name, "lenet5")
    assert "\n" not in str(refused.value)


def test_grad_cam_of_a_layer_the_model_lacks_is_refused():
    model = _network("lenet5")
    with pytest.raises(CamLayerError, match="no layer 'nope'"):
        grad_cam(model, _input(model), 0, "nope")
    with pytest.raises(CamLayerError, match="outputs no feature maps"):
        grad_cam(model, _input(model), 0, "f6")


def test_rank_correlation_is_spearmans_and_undefined_for_a_constant_map():
    from scipy.stats import spearmanr

    generator = np.random.default_rng(0)
    a, b = generator.normal(size=(8, 8)), generator.normal(size=(8, 8))
    assert rank_correlation(a, b) == pytest.approx(spearmanr(a.ravel(), b.ravel()).statistic)
    assert rank_correlation(a, a**3) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    assert math.isnan(rank_correlation(a, np.zeros((8, 8))))


def test_the_random_twin_has_fresh_weights_and_the_same_architecture():
    model = _network("lenet5")
    twin = randomised_twin(model, lambda: create_model("lenet5"), seed=1)
    again = randomised_twin(model, lambda: create_model("lenet5"), seed=1)
    assert not twin.training
    assert [n for n, _ in twin.named_parameters()] == [n for n, _ in model.named_parameters()]
    assert not torch.equal(twin.c1.weight, model.c1.weight)
    assert torch.equal(twin.c1.weight, again.c1.weight)  # seeded
    reset = randomised_twin(model, None, seed=1)  # no builder: each layer's reset_parameters
    assert not torch.equal(reset.c1.weight, model.c1.weight)
    assert reset is not model and torch.equal(model.c1.weight, _network("lenet5").c1.weight)
