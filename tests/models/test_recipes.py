"""Each model's recipe lives in its spec, beside the model, and resolves into the training configuration."""

import pytest

from cnnlab.models import get_spec, list_models
from cnnlab.training.config import resolve_config


@pytest.mark.parametrize("name", list_models())
def test_the_recipe_is_named_and_resolves_setting_for_setting(name):
    recipe = get_spec(name).recipe
    assert recipe.get("recipe"), "a recipe names itself for the run's record"
    config = resolve_config(name)
    assert {key: getattr(config, key) for key in recipe} == dict(recipe)


def test_a_spec_holds_its_own_frozen_copy_of_the_recipe():
    recipe = get_spec("lenet5").recipe
    with pytest.raises(TypeError):
        recipe["epochs"] = 1  # type: ignore[index]
    assert get_spec("resnet110").recipe["warmup_epochs"] == 1.0 and "warmup_epochs" not in get_spec("plain110").recipe
    assert get_spec("mlp").recipe is not get_spec("lenet5_modern").recipe
    assert dict(get_spec("mlp").recipe) == dict(get_spec("lenet5_modern").recipe)
