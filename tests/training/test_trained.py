"""Loading a trained model from a checkpoint: weights, preprocessing, temperature, refusals."""

import pytest
import torch

from cnnlab.checkpoint import save_checkpoint
from cnnlab.run import Run
from cnnlab.training.trained import load_trained_model, untrained_model
from tests._checkpoints import write_checkpoint


def test_loaded_model_has_the_weights_and_is_in_eval_mode(tmp_path):
    network = write_checkpoint(tmp_path / "best.pt", "resnet20")
    trained = Run(tmp_path).trained()
    assert not trained.model.training and trained.name == "resnet20" and trained.epoch == 3
    assert trained.input_size == (3, 32, 32) and trained.classes == tuple("0123456789")
    for key, value in network.state_dict().items():
        assert torch.equal(trained.model.state_dict()[key], value), key
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    probabilities = trained.probabilities(x)
    network.eval()
    with torch.no_grad():
        expected = torch.softmax(network((x.float() / 255 - 0.1) / 0.3), dim=1)
    torch.testing.assert_close(probabilities, expected)


def test_probabilities_use_the_runs_logit_temperature(tmp_path):
    write_checkpoint(tmp_path / "best.pt", "lenet5")  # the lenet5 recipe trains at temperature 16
    trained = Run(tmp_path).trained()
    assert trained.logit_temperature == 16.0
    x = torch.randint(0, 256, (1, 1, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        logits = trained.model(trained.normalization.apply(x))
    torch.testing.assert_close(trained.probabilities(x), torch.softmax(logits / 16, dim=1))


def test_bad_checkpoints_are_refused_with_their_reason(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"\x89junk\x00" * 50)
    with pytest.raises(ValueError, match="junk.pt is corrupt or not a checkpoint"):
        load_trained_model(tmp_path / "junk.pt")
    write_checkpoint(tmp_path / "alien.pt", model="lenet5")
    state = torch.load(tmp_path / "alien.pt", weights_only=True)
    save_checkpoint(tmp_path / "alien.pt", {**state, "model": "lenet6"})
    with pytest.raises(ValueError, match="a model this cnnlab does not have: unknown model 'lenet6'"):
        load_trained_model(tmp_path / "alien.pt")
    save_checkpoint(tmp_path / "partial.pt", {"model": "lenet5", "epoch": 1})
    with pytest.raises(ValueError, match="lacks config, model_state"):
        load_trained_model(tmp_path / "partial.pt")
    save_checkpoint(tmp_path / "mixed.pt", {**state, "model": "resnet20"})
    with pytest.raises(ValueError, match="the weights do not fit resnet20"):
        load_trained_model(tmp_path / "mixed.pt")


def test_untrained_models_are_seeded_and_say_so():
    first, second = untrained_model("lenet5"), untrained_model("lenet5")
    assert first.random_weights and first.checkpoint is None and first.label == "lenet5, random weights (untrained)"
    for key, value in first.model.state_dict().items():
        assert torch.equal(second.model.state_dict()[key], value), key
    colour = untrained_model("resnet20")
    assert colour.preprocessing.gray is False and colour.normalization.mean == (0.485, 0.456, 0.406)
    with pytest.raises(ValueError, match="unknown model 'lenet6'"):
        untrained_model("lenet6")


@pytest.mark.slow
def test_a_run_that_chose_its_channels_in_its_model_options_loads(tmp_path):
    """`model_args={"in_channels": 1}` (a 3-channel model trained on digits) is what the checkpoint says too."""
    from cnnlab.run import train

    run = train("convnet4", model_args={"in_channels": 1}, epochs=1, train_images=100, val_fraction=0.0,
                output=str(tmp_path / "run"), progress=False, log=lambda _line: None)  # fmt: skip
    model = run.model()
    assert model.in_channels == 1 and model.conv1.weight.shape == (32, 1, 5, 5)
    assert run.evaluate().images == 1000
