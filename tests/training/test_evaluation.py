"""The data a trained model is evaluated on: the run's own splits, or another dataset fitted like training."""

import pytest
import torch

from cnnlab.data.datasets import load_dataset
from cnnlab.run import Run
from cnnlab.training.evaluation import evaluation_data
from tests._checkpoints import write_checkpoint


def test_evaluation_data_is_the_runs_split(tmp_path):
    write_checkpoint(tmp_path / "best.pt", val_fraction=0.1, seed=3)
    trained = Run(tmp_path).trained()
    full = load_dataset("mnist5k")
    carved = full.with_validation(0.1, seed=3)
    for split, expected in (("test", full.test), ("val", carved.val), ("train", carved.train)):
        data = evaluation_data(trained, split=split)
        assert torch.equal(data.loader.images, expected.images) and torch.equal(data.loader.labels, expected.labels)
        assert data.loader.normalization == trained.normalization and data.dataset == "mnist5k"


def test_evaluation_on_another_dataset_is_fitted_like_training(tmp_path):
    write_checkpoint(tmp_path / "best.pt")
    data = evaluation_data(Run(tmp_path).trained(), data="digits")
    assert data.loader.images.shape[1:] == (1, 32, 32) and len(data.loader.labels) == 360
    assert data.notes == ["digits: 8x8 images resized to 32x32 for the model"]


def test_evaluation_data_refuses_other_classes_and_a_missing_validation_split(tmp_path):
    write_checkpoint(tmp_path / "five.pt", classes=5)
    with pytest.raises(ValueError, match="mnist5k has 10 classes and the lenet5 of .* was trained on 5"):
        evaluation_data(Run(tmp_path / "five.pt").trained())
    write_checkpoint(tmp_path / "noval.pt", val_fraction=0.0)
    with pytest.raises(ValueError, match="held out no validation split"):
        evaluation_data(Run(tmp_path / "noval.pt").trained(), split="val")


def test_a_bad_split_is_named():
    from cnnlab.training.trained import untrained_model

    with pytest.raises(ValueError, match="split must be one of test, val, train, got 'dev'"):
        evaluation_data(untrained_model("lenet5"), split="dev")
