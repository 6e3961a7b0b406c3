"""The loss with auxiliary heads, and the speed/format options of a run."""

import pytest
import torch

from cnnlab.models import ModelOutput, create_model
from cnnlab.run import train
from cnnlab.training import loop as loop_module
from cnnlab.training.config import resolve_config
from cnnlab.training.loop import training_loss

# Slow: every test trains (1-1.5 s each on 2 busy cores).
pytestmark = pytest.mark.slow


def test_auxiliary_losses_are_weighted_as_the_paper_says():
    torch.manual_seed(0)
    labels = torch.tensor([1, 0, 3])
    main, aux1, aux2 = torch.randn(3, 3, 5).unbind(0)
    config = resolve_config("googlenet")
    loss = training_loss(ModelOutput(main, (aux1, aux2)), labels, config, (0.3, 0.3))
    ce = torch.nn.functional.cross_entropy
    torch.testing.assert_close(loss, ce(main, labels) + 0.3 * ce(aux1, labels) + 0.3 * ce(aux2, labels))
    assert create_model("googlenet", aux_logits=True).aux_loss_weights == (0.3, 0.3)


def test_label_smoothing_and_temperature_enter_the_loss():
    logits, labels = torch.tensor([[4.0, 0.0, 0.0]]), torch.tensor([0])
    smoothed = training_loss(ModelOutput(logits), labels, resolve_config("inception_v3"), ())
    torch.testing.assert_close(smoothed, torch.nn.functional.cross_entropy(logits, labels, label_smoothing=0.1))
    cooled = training_loss(ModelOutput(logits), labels, resolve_config("lenet5"), ())
    torch.testing.assert_close(cooled, torch.nn.functional.cross_entropy(logits / 16, labels))


def _one_epoch(tmp_path, model="lenet5_modern", **changes):
    settings = {"epochs": 1, "output": str(tmp_path / "run"), "device": "cpu", **changes}
    config = resolve_config(model, **settings)
    return train(config, progress=False, log=lambda _m: None)


def test_amp_and_channels_last_train(tmp_path):
    result = _one_epoch(tmp_path, amp=True, channels_last=True)
    assert result.summary.test_top1 > 0.3


def test_compile_wraps_the_training_step(tmp_path, monkeypatch):
    compiled = []
    monkeypatch.setattr(torch, "compile", lambda module: compiled.append(module) or module)
    _one_epoch(tmp_path, compile=True)
    assert len(compiled) == 1 and isinstance(compiled[0], loop_module._TrainStep)


def test_metrics_go_to_tensorboard_when_it_is_there(tmp_path, monkeypatch):
    class Writer:
        def __init__(self):
            self.scalars = []

        def add_scalar(self, tag, value, step):
            self.scalars.append((tag, step))

        def close(self):
            self.scalars.append(("closed", 0))

    writer = Writer()
    monkeypatch.setattr(loop_module, "_tensorboard", lambda _run_dir: writer)
    _one_epoch(tmp_path)
    tags = {tag for tag, _ in writer.scalars}
    assert {"train/loss", "train/top1", "val/top1", "lr", "closed"} <= tags


def test_data_is_fitted_to_the_model_and_said(tmp_path):
    messages = []
    config = resolve_config(
        "resnet20", data="digits", epochs=1, batch_size=64, output=str(tmp_path / "r"), device="cpu"
    )
    result = train(config, progress=False, log=messages.append)
    assert any("1-channel images made 3-channel by repeating the gray channel" in m for m in messages)
    assert result.summary.notes and result.summary.test_images == 360


def test_a_missing_cuda_device_is_a_clear_error(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="no CUDA device is available"):
        _one_epoch(tmp_path, device="cuda")
