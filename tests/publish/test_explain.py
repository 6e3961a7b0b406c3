"""One plain sentence per layer, from the operation's kind, attributes and shapes (cnnlab.publish.explain)."""

import re
from pathlib import Path

import pytest
from torch import nn

from cnnlab.publish import to_program
from cnnlab.publish.explain import _SENTENCES, layer_sentences
from cnnlab.training.trained import untrained_model

DOCS = Path(__file__).parents[2] / "docs" / "publish.md"


def sentences_of(name: str) -> dict[str, tuple[str, str]]:
    trained = untrained_model(name)
    return layer_sentences(to_program(trained.model, trained.input_size))


def test_every_documented_operation_kind_has_a_sentence():
    table = DOCS.read_text(encoding="utf-8").split("## Operation kinds")[1].split("\n## ")[0]
    kinds = {kind for row in table.splitlines() if row.startswith("| `") for kind in
             re.findall(r"`(\w+)`", row.split("|")[1])}  # fmt: skip
    kinds.discard("op")  # the header row
    assert len(kinds) > 20 and kinds <= set(_SENTENCES), kinds - set(_SENTENCES)


def test_lenet5_in_the_papers_words():
    found = sentences_of("lenet5")
    assert found["c1"] == (
        "C1 · convolution 5x5, 6 maps",
        "Each of 6 filters of 5x5 weights slides over the 32x32 input and adds a bias: 6 feature maps of 28x28, "
        "156 parameters.",
    )
    s2 = found["s2"][1]
    assert all(words in s2 for words in ("average of a 2x2", "trainable coefficient", "bias", "squashing function"))
    assert "(6 read 3, 9 read 4, 1 read 6)" in found["c3"][1] and found["c3"][1].endswith("1,516 parameters.")
    assert found["f6"][1].startswith("Full connection: each of the 84 units") and "10,164 parameters" in found["f6"][1]
    assert "squared distance" in found["output"][1] and "1.7159 tanh(2/3 x)" in found["squash#2"][1]


def test_resnet_addition_pooling_and_folded_batch_norm():
    found = sentences_of("resnet20")
    assert (
        found["bn1"][0] == "conv1 + bn1 · convolution 3x3, 16 maps"
        and "batch normalisation is folded" in found["bn1"][1]
    )
    assert found["layer1.0.relu#2"][1].startswith("Residual addition") and "then ReLU" in found["layer1.0.relu#2"][1]
    assert found["avgpool"][1].startswith("Global average pooling: each of the 64 maps of 8x8")
    assert "moving 2 pixels at a time, with 1 pixel of zero padding" in found["layer2.0.bn1"][1]


@pytest.mark.parametrize(
    ("layer", "words"),
    [
        (nn.MaxPool2d(2), "Max pooling: each unit keeps the largest value of a 2x2 window of its map, moving 2 pixels"),
        (nn.AvgPool2d(3, 1, 1), "Mean pooling: each unit keeps the average of a 3x3 window"),
        (nn.ReLU(), "ReLU: negative values become 0"),
        (nn.Conv2d(4, 8, 3, groups=2, bias=False), "in 2 groups"),
    ],
)
def test_a_sentence_per_kind(layer, words):
    model = nn.Sequential(nn.Conv2d(1, 4, 1), layer).eval()
    found = layer_sentences(to_program(model, (1, 8, 8)))
    assert words in found["1"][1] and found["1"][1].endswith(".")
