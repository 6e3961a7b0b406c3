import pytest
import torch

from cnnlab.models import ImageClassifier, create_model, get_spec, list_models, register_model
from cnnlab.models._registry import _REGISTRY


def test_list_models_filters_with_shell_patterns():
    assert list_models("lenet*") == ["lenet1", "lenet4", "lenet5", "lenet5_modern"]
    assert set(list_models("plain*")) == {"plain20", "plain32", "plain44", "plain56", "plain110"}
    assert list_models("nothing*") == []


def test_duplicate_names_are_refused():
    with pytest.raises(ValueError, match="already registered"):

        @register_model(paper="x", section="x", year=2000, input_size=(3, 8, 8), params=0)
        def resnet18(*, num_classes: int = 10, in_channels: int = 3) -> ImageClassifier:
            raise AssertionError("never built")

    assert _REGISTRY["resnet18"].builder.__module__ == "cnnlab.models.resnet"


def test_builders_must_be_keyword_only():
    with pytest.raises(TypeError, match="keyword-only"):

        @register_model(paper="x", section="x", year=2000, input_size=(3, 8, 8), params=0)
        def positional_net(num_classes: int = 10, in_channels: int = 3) -> ImageClassifier:
            raise AssertionError("never built")

    assert "positional_net" not in _REGISTRY


def test_create_model_errors_name_what_exists():
    with pytest.raises(ValueError, match="unknown model 'resnet19'; did you mean resnet18"):
        create_model("resnet19")
    with pytest.raises(ValueError, match="has no option layers; its options: zero_init_residual"):
        create_model("resnet18", layers=(1, 1, 1, 1))  # vgg16 is VGG-16: the architecture is not an option
    with pytest.raises(ValueError, match="num_classes: expected a positive whole number, got 0"):
        create_model("resnet18", num_classes=0)
    with pytest.raises(ValueError, match="in_channels: expected a positive whole number, got True"):
        create_model("resnet18", in_channels=True)


def test_create_model_attaches_the_spec_and_the_interface():
    model = create_model("resnet20", num_classes=100)
    assert model.spec is get_spec("resnet20") and model.spec.num_classes == 10  # the spec is the paper's default
    assert (model.num_classes, model.in_channels, model.num_features) == (100, 3, 64)
    x = torch.randn(2, 3, 32, 32)
    features = model.forward_features(x)
    assert features.shape == (2, 64, 8, 8)
    assert model.forward_head(features, pre_logits=True).shape == (2, 64)
    assert model.forward_head(features).shape == (2, 100)
