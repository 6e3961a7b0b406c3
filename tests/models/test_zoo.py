"""The tests every registered model gets (shared/STYLE.md, "Tests every model gets")."""

import copy
import inspect

import pytest
import torch

from cnnlab.models import ImageClassifier, ModelOutput, create_model, get_spec, list_models
from cnnlab.models._registry import _REGISTRY
from tests._slow import by_size

MODELS = list_models()
AUX_MODELS = [n for n in MODELS if "aux_logits" in inspect.signature(_REGISTRY[n].builder).parameters]

# Models whose full-size forward is costly on 2 CPU cores run the per-model tests at a small input.
SMALL_INPUT = 64


@pytest.fixture(scope="module", params=by_size(MODELS))
def default_model(request: pytest.FixtureRequest) -> ImageClassifier:
    """Each default model, built once; pytest groups the tests by model, so one big model lives at a time (the
    big ones' tests are marked slow)."""
    torch.manual_seed(0)
    return create_model(request.param)


def fresh(model: ImageClassifier) -> ImageClassifier:
    """A copy a test may train or change."""
    return copy.deepcopy(model)


def sample_input(model: ImageClassifier, batch: int = 2) -> torch.Tensor:
    (min_h, max_h), (min_w, max_w) = model.input_size_range()
    _, default_h, default_w = model.spec.input_size
    h = default_h if max_h is not None else max(min_h, min(default_h, SMALL_INPUT))
    w = default_w if max_w is not None else max(min_w, min(default_w, SMALL_INPUT))
    torch.manual_seed(1)
    return torch.randn(batch, model.in_channels, h, w)


def test_registry_has_the_lectures_models():
    for name in (
        "lenet1",
        "lenet4",
        "lenet5",
        "lenet5_modern",
        "mlp",
        "locally_connected_net",
        "resnet18",
        "resnet20",
        "plain56",
    ):
        assert name in MODELS


def test_parameter_count_is_pinned(default_model):
    assert sum(p.numel() for p in default_model.parameters() if p.requires_grad) == default_model.spec.params


def test_spec_cites_the_paper(default_model):
    spec = default_model.spec
    assert spec is get_spec(spec.name)
    assert spec.paper and spec.section and 1980 < spec.year < 2030
    assert spec.family and spec.input_size[0] == default_model.in_channels
    assert spec.num_classes == default_model.num_classes
    family_doc = __import__(f"cnnlab.models.{spec.family}", fromlist=["_"]).__doc__
    assert str(spec.year) in family_doc or spec.paper.split(",")[0].split()[0] in family_doc


def test_forward_shape_and_finiteness_at_batch_1_and_2(default_model):
    model = default_model.eval()
    for batch in (1, 2):
        with torch.no_grad():
            out = model(sample_input(model, batch))
        assert out.shape == (batch, model.spec.num_classes)
        assert torch.isfinite(out).all()


def test_other_classes_and_channels(default_model):
    model = create_model(default_model.spec.name, num_classes=7, in_channels=2).eval()
    assert (model.num_classes, model.in_channels) == (7, 2)
    with torch.no_grad():
        assert model(sample_input(model, 2)).shape == (2, 7)


def test_backward_reaches_every_parameter_and_the_input(default_model):
    model = fresh(default_model).train()
    x = sample_input(model).requires_grad_()
    output = model.forward_train(x)
    assert isinstance(output, ModelOutput)
    loss = output.logits.square().mean() + sum(aux.square().mean() for aux in output.aux_logits)
    loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no (finite) gradient for {missing[:5]}"


def test_each_stage_has_the_size_shapes_predicts(default_model):
    model = default_model.eval()
    x = sample_input(model, 1)
    modules = dict(model.named_modules())
    seen: dict[str, tuple[int, int]] = {}

    def record(step: str):
        def hook(_module, _inputs, output) -> None:
            seen.setdefault(step, tuple(output.shape[2:]))

        return hook

    hooks = [modules[step].register_forward_hook(record(step)) for step in model.size_steps]
    with torch.no_grad():
        features = model.forward_features(x)
    for hook in hooks:
        hook.remove()
    steps_h, steps_w = model.geometry()
    h, w = x.shape[2:]
    for step_h, step_w in zip(steps_h, steps_w, strict=True):
        h, w = step_h.output_size(h), step_w.output_size(w)
        assert seen[step_h.module] == (h, w), step_h.module
    if features.dim() == 4:
        assert tuple(features.shape[2:]) == model.feature_size(*x.shape[2:])


def test_eval_is_deterministic_and_state_dict_round_trips(default_model):
    model = default_model.eval()
    x = sample_input(model)
    with torch.no_grad():
        first = model(x)
        assert torch.equal(first, model(x))
        twin = create_model(model.spec.name).eval()
        twin.load_state_dict(model.state_dict())
        assert torch.equal(first, twin(x))


@pytest.mark.slow  # torch.export traces the network: 0.3-7.6 s a model
def test_torch_export_matches_eager(default_model):
    model = default_model.eval()
    x = sample_input(model, 2)
    exported = torch.export.export(model, (x,))
    with torch.no_grad():
        torch.testing.assert_close(exported.module()(x), model(x), rtol=1e-4, atol=1e-5)


def test_too_small_or_wrong_channel_input_names_what_fits(default_model):
    model = default_model.eval()
    name = model.spec.name
    (min_h, _), (min_w, _) = model.input_size_range()
    smallest = f"{model.in_channels}x{min_h}x{min_w}"
    if min_h > 1:
        with pytest.raises(ValueError, match=f"{name} needs an input .*{smallest}.*got"):
            model(torch.zeros(1, model.in_channels, min_h - 1, min_w))
    with pytest.raises(ValueError, match=rf"expects input \(N, {model.in_channels}, H, W\)"):
        model(torch.zeros(1, model.in_channels + 1, min_h, min_w))


@pytest.mark.parametrize("name", MODELS)
def test_builds_on_the_meta_device(name):
    with torch.device("meta"):
        model = create_model(name)
    assert all(p.is_meta for p in model.parameters())
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == get_spec(name).params


@pytest.mark.parametrize("name", by_size(AUX_MODELS))
def test_auxiliary_heads_exist_only_when_asked_and_come_back_from_forward_train(name):
    plain = create_model(name).eval()
    assert plain.aux_loss_weights == () and plain.forward_train(sample_input(plain, 1)).aux_logits == ()
    model = create_model(name, aux_logits=True, num_classes=5).train()
    plain = create_model(name, num_classes=5)
    assert sum(p.numel() for p in model.parameters()) > sum(p.numel() for p in plain.parameters())
    (min_h, _), (min_w, _) = model.input_size_range()
    x = torch.randn(2, model.in_channels, min_h, min_w, requires_grad=True)
    output = model.forward_train(x)
    assert isinstance(output.logits, torch.Tensor) and output.logits.shape == (2, 5)
    assert len(output.aux_logits) == len(model.aux_loss_weights) > 0
    assert all(aux.shape == (2, 5) for aux in output.aux_logits)
    sum(t.square().mean() for t in (output.logits, *output.aux_logits)).backward()
    assert all(p.grad is not None for p in model.parameters())
    assert isinstance(model.eval()(x), torch.Tensor)  # forward: the main logits, in eval as in training
