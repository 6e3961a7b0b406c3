import json

import pytest

from cnnlab.errors import SettingError
from cnnlab.training.config import TrainConfig, load_config_file, resolve_config


def test_recipe_then_file_then_flags():
    config = resolve_config("resnet20", {"epochs": 7, "lr": 0.5}, lr=0.2, batch_size=None)
    assert config.recipe == "resnet_cifar"
    assert (config.epochs, config.lr, config.batch_size) == (7, 0.2, 128)  # file, flag, recipe
    assert config.milestones == (91, 137) and config.weight_decay == 1e-4


@pytest.mark.parametrize(
    ("model", "recipe", "facts"),
    [
        ("alexnet", "alexnet", {"lr": 0.01, "batch_size": 128, "weight_decay": 5e-4, "momentum": 0.9}),
        ("vgg16", "vgg", {"lr": 0.01, "batch_size": 256, "weight_decay": 5e-4}),
        ("googlenet", "googlenet", {"schedule": "exponential", "gamma": 0.96, "step_epochs": 8}),
        ("inception_v3", "inception", {"optimizer": "rmsprop", "rmsprop_eps": 1.0, "label_smoothing": 0.1}),
        ("resnet50", "resnet_imagenet", {"lr": 0.1, "batch_size": 256, "weight_decay": 1e-4}),
        ("plain56", "resnet_cifar", {"lr": 0.1, "batch_size": 128, "epochs": 182}),
    ],
)
def test_each_family_gets_its_papers_recipe(model, recipe, facts):
    config = resolve_config(model)
    assert config.recipe == recipe
    assert {k: getattr(config, k) for k in facts} == facts


def test_resnet110_warms_up_as_the_paper_says():
    assert resolve_config("resnet110").warmup_epochs == 1.0
    assert resolve_config("resnet56").warmup_epochs == 0.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"batch_size": 0}, "batch_size: expected a positive whole number, got 0"),
        ({"lr": -0.1}, "lr: expected a positive learning rate, got -0.1"),
        ({"lr": float("inf")}, "lr: expected a finite number, got inf"),
        ({"lr": float("nan")}, "lr: expected a finite number, got nan"),
        ({"optimizer": "lbfgs"}, "optimizer: expected one of sgd, adam, adamw, rmsprop, got 'lbfgs'"),
        ({"augment": ("rotate",)}, "augment: expected some of shift, affine, elastic, crop, flip, pca"),
        ({"val_fraction": 1.0}, r"val_fraction: expected a fraction in \[0, 1\), got 1.0"),
        ({"epochs": 2.5}, "epochs: expected a positive whole number, got 2.5"),
        ({"amp": "yes"}, "amp: expected true or false, got 'yes'"),
        ({"milestones": "30,60"}, "milestones: expected a list of whole numbers"),
        ({"epochz": 3}, r"^unknown setting epochz \(did you mean epochs\?\)$"),
    ],
)
def test_bad_values_are_refused_with_the_reason(change, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(model="lenet5").replace(**change)


def test_the_setting_is_named_as_each_front_end_names_it():
    with pytest.raises(SettingError) as info:
        TrainConfig(model="lenet5", weight_decay=-1.0)
    assert str(info.value) == "weight_decay: expected a weight decay >= 0, got -1.0"
    assert info.value.settings == ["weight_decay"]
    assert info.value.spelled(lambda name, value: "--wd") == "--wd: expected a weight decay >= 0, got -1.0"


def test_json_numbers_and_lists_become_the_fields_types():
    config = TrainConfig.from_dict({"model": "lenet5", "lr": 1, "milestones": [3, 6], "augment": ["shift"]})
    assert config.lr == 1.0 and isinstance(config.lr, float)
    assert config.milestones == (3, 6) and config.augment == ("shift",)


def test_config_round_trips_through_json_and_refuses_unknown_keys(tmp_path):
    config = resolve_config("lenet5", epochs=3)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config.to_dict()))
    assert TrainConfig.from_dict(load_config_file(path)) == config
    with pytest.raises(ValueError, match="unknown setting.*epochz"):
        TrainConfig.from_dict({"model": "lenet5", "epochz": 3})
    path.write_text(json.dumps({"epochs": "ten"}))
    with pytest.raises(
        ValueError, match=r"config file .*config.json: epochs: expected a positive whole number, got 'ten'"
    ):
        load_config_file(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        load_config_file(path)
    with pytest.raises(ValueError, match="does not exist"):
        load_config_file(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("settings", "unused", "used"),
    [
        ({"optimizer": "adamw", "schedule": "onecycle"},
         {"momentum", "rmsprop_alpha", "rmsprop_eps", "gamma", "patience", "step_epochs", "milestones"}, set()),
        ({"optimizer": "rmsprop", "schedule": "exponential"}, {"milestones", "patience"},
         {"momentum", "rmsprop_alpha", "rmsprop_eps", "gamma", "step_epochs"}),
        ({"optimizer": "sgd", "schedule": "plateau"}, {"rmsprop_alpha", "step_epochs", "milestones"},
         {"momentum", "gamma", "patience"}),
        ({"schedule": "multistep", "milestones": (2, 4)}, {"step_epochs", "patience"}, {"milestones", "gamma"}),
        ({"augment": ("crop", "flip")}, set(), {"crop_padding"}),
        ({"augment": ("elastic",)}, {"crop_padding"}, set()),
        ({"data": "cifar10"}, {"workers"}, {"data_dir", "download"}),
        ({"data": "folder:photos"}, set(), {"workers", "data_dir"}),
        ({"data": "digits"}, {"data_dir", "download", "workers"}, set()),
        ({"model_args": {"aux_logits": True}}, set(), {"model_args"}),
    ],
)  # fmt: skip
def test_unused_settings_are_those_that_change_nothing(settings, unused, used):
    config = resolve_config("lenet5", **settings)
    assert unused <= config.unused_settings() and not used & config.unused_settings()
    shown = config.used_settings()
    assert not unused & set(shown) and used <= set(shown)
    assert {"model", "epochs", "lr", "optimizer", "schedule", "seed"} <= set(shown)
    assert set(shown) | config.unused_settings() == set(config.to_dict())


def test_a_configuration_from_before_threads_existed_reads_back_as_one_thread_per_core():
    saved = resolve_config("lenet5").to_dict()
    del saved["threads"]
    assert TrainConfig.saved(saved).threads == 0  # PyTorch's default, as that run ran
    assert TrainConfig.saved(resolve_config("lenet5").to_dict()).threads == 1
    assert resolve_config("lenet5").threads == resolve_config("resnet20").threads == 1
