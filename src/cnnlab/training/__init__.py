"""Training, evaluation and the paper recipes."""

from cnnlab.training.config import TrainConfig
from cnnlab.training.loop import RunResult, TrainingInterrupted, TrainingStopped, train
from cnnlab.training.recipes import recipe_for

__all__ = [
    "RunResult",
    "TrainConfig",
    "TrainingInterrupted",
    "TrainingStopped",
    "recipe_for",
    "resolve_config",
    "train",
]


def resolve_config(model: str, file_settings: dict | None = None, **flags: object) -> TrainConfig:
    """The model's recipe, overridden by a config file's settings, overridden by flags (``None`` = not given)."""
    name, settings = recipe_for(model)
    settings = {**settings, **(file_settings or {})}
    settings.update({k: v for k, v in flags.items() if v is not None})
    settings.setdefault("recipe", name)
    settings["model"] = model
    return TrainConfig.from_dict(settings)
