"""The tests every registered model gets (shared/STYLE.md, "Tests every model gets")."""

import copy
import functools

import pytest
import torch

from cnnlab.models import ImageClassifier, ModelOutput, create_model, get_spec, list_models

MODELS = list_models()

# Models whose full-size forward is costly on 2 CPU cores run the per-model tests at a small input.
SMALL_INPUT = 64


@functools.cache
def _built(name: str) -> ImageClassifier:
    torch.manual_seed(0)
    return create_model(name)


def built(name: str) -> ImageClassifier:
    """A fresh copy of the default model (building the big ones once per session)."""
    return copy.deepcopy(_built(name))


def sample_input(model: ImageClassifier, batch: int = 2) -> torch.Tensor:
    (min_h, max_h), (min_w, max_w) = model.input_size_range()
    _, default_h, default_w = model.spec.input_size
    h = default_h if max_h is not None else max(min_h, min(default_h, SMALL_INPUT))
    w = default_w if max_w is not None else max(min_w, min(default_w, SMALL_INPUT))
    torch.manual_seed(1)
    return torch.randn(batch, model.in_channels, h, w)


def test_registry_has_the_lectures_models():
    for name in ("lenet5", "lenet5_modern", "mlp", "locally_connected_net", "resnet18", "resnet20", "plain56"):
        assert name in MODELS


@pytest.mark.parametrize("name", MODELS)
def test_parameter_count_is_pinned(name):
    model = _built(name)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == get_spec(name).params


@pytest.mark.parametrize("name", MODELS)
def test_spec_cites_the_paper(name):
    spec = get_spec(name)
    assert spec.name == name
    assert spec.paper and spec.section and 1980 < spec.year < 2030
    assert spec.family and spec.input_size[0] == _built(name).in_channels
    assert spec.num_classes == _built(name).num_classes
    family_doc = __import__(f"cnnlab.models.{spec.family}", fromlist=["_"]).__doc__
    assert str(spec.year) in family_doc or spec.paper.split(",")[0].split()[0] in family_doc


@pytest.mark.parametrize("name", MODELS)
def test_forward_shape_and_finiteness_at_batch_1_and_2(name):
    model = built(name).eval()
    for batch in (1, 2):
        with torch.no_grad():
            out = model(sample_input(model, batch))
        assert out.shape == (batch, model.spec.num_classes)
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", MODELS)
def test_other_classes_and_channels(name):
    model = create_model(name, num_classes=7, in_channels=2).eval()
    assert (model.num_classes, model.in_channels) == (7, 2)
    with torch.no_grad():
        assert model(sample_input(model, 2)).shape == (2, 7)


@pytest.mark.parametrize("name", MODELS)
def test_backward_reaches_every_parameter_and_the_input(name):
    model = built(name).train()
    x = sample_input(model).requires_grad_()
    output = model.forward_train(x)
    assert isinstance(output, ModelOutput)
    loss = output.logits.square().mean() + sum(aux.square().mean() for aux in output.aux_logits)
    loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no (finite) gradient for {missing[:5]}"


@pytest.mark.parametrize("name", MODELS)
def test_each_stage_has_the_size_shapes_predicts(name):
    model = built(name).eval()
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


@pytest.mark.parametrize("name", MODELS)
def test_eval_is_deterministic_and_state_dict_round_trips(name):
    model = built(name).eval()
    x = sample_input(model)
    with torch.no_grad():
        first = model(x)
        assert torch.equal(first, model(x))
        twin = create_model(name).eval()
        twin.load_state_dict(model.state_dict())
        assert torch.equal(first, twin(x))


@pytest.mark.parametrize("name", MODELS)
def test_torch_export_matches_eager(name):
    model = built(name).eval()
    x = sample_input(model, 2)
    exported = torch.export.export(model, (x,))
    with torch.no_grad():
        torch.testing.assert_close(exported.module()(x), model(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_too_small_or_wrong_channel_input_names_what_fits(name):
    model = built(name).eval()
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
