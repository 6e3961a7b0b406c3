"""AlexNet: Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep Convolutional Neural Networks",
NIPS 2012, Sec. 3.1-3.5 and Fig. 2 (architecture), Sec. 4.2 (dropout) and Sec. 5 (initialisation); and the
single-tower variant that torchvision ships, whose weights load into ``alexnet_tv`` unchanged.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from cnnlab.layers.normalization import LocalResponseNorm2d
from cnnlab.models._base import ImageClassifier
from cnnlab.models._registry import register_model

__all__ = ["AlexNet", "PooledClassifier", "TorchvisionAlexNet", "alexnet", "alexnet_tv", "fc_classifier"]

PAPER = "Krizhevsky, Sutskever, Hinton 2012, ImageNet Classification with Deep Convolutional Neural Networks"

# The paper's input is 224x224, but an 11x11 stride-4 convolution without padding maps 224 to 54, not the
# 55x55 of Fig. 2 (and 253,440 "neurons" in Sec. 3.5 is not 55*55*96 either). Caffe's reference model
# (BVLC/caffe models/bvlc_alexnet/deploy.prototxt) feeds 227x227, which gives every size the paper prints:
# 227 -> 55 -> 27 -> 13 -> 6.
INPUT_SIZE = 227


class AlexNet(ImageClassifier):
    """AlexNet as the paper builds it: 60,965,224 parameters, the two GPU towers as ``groups=2``.

    ``conv1 11x11/4 96 -> LRN -> pool -> conv2 5x5 256 (2 groups) -> LRN -> pool -> conv3 3x3 384 ->
    conv4 3x3 384 (2 groups) -> conv5 3x3 256 (2 groups) -> pool -> fc6 4096 -> fc7 4096 -> fc8``.
    ReLU follows every convolution and fully connected layer (Sec. 3.1). Local response normalisation
    (k = 2, n = 5, alpha = 1e-4, beta = 0.75) follows the ReLU of conv1 and conv2 (Sec. 3.3), and overlapping
    max pooling 3x3/2 follows both normalisations and conv5 (Sec. 3.4). Kernels of conv2, conv4 and conv5
    see only the maps on their own GPU, those of conv3 see all of them (Sec. 3.2, Fig. 2): ``groups=2``,
    with the first half of the channels on one GPU and the second half on the other. Dropout 0.5 acts on
    the outputs of fc6 and fc7 (Sec. 4.2). Weights start N(0, 0.01^2); the biases of conv2, conv4, conv5,
    fc6 and fc7 start at 1, the others at 0 (Sec. 5).

    Deviations:
        * Input 3x227x227 instead of the paper's 224x224, as Caffe does (see ``INPUT_SIZE``): with 224 and no
          padding conv1 gives 54x54 and pool5 5x5, not the 55x55 and 6x6 the paper prints. The classifier
          flattens 256x6x6, so inputs from 227 to 258 pixels work (computed from the layers).
        * One device: the two towers are grouped convolutions, which compute the same function. LRN sums
          over neighbouring maps of the whole layer, as the paper's formula writes it (N = all kernels).
        * The paper multiplies the outputs by 0.5 at test time; PyTorch's dropout scales by 2 during
          training instead, which gives the same expected activations.
    """

    final_size = (6, 6)

    def __init__(self, *, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__(in_channels=in_channels, num_classes=num_classes, num_features=256)
        self.features = nn.Sequential(
            OrderedDict(
                conv1=nn.Conv2d(in_channels, 96, 11, stride=4),  # N x 96 x 55 x 55
                relu1=nn.ReLU(inplace=True),
                norm1=LocalResponseNorm2d(size=5, alpha=1e-4, beta=0.75, k=2.0),
                pool1=nn.MaxPool2d(3, stride=2),  # N x 96 x 27 x 27
                conv2=nn.Conv2d(96, 256, 5, padding=2, groups=2),
                relu2=nn.ReLU(inplace=True),
                norm2=LocalResponseNorm2d(size=5, alpha=1e-4, beta=0.75, k=2.0),
                pool2=nn.MaxPool2d(3, stride=2),  # N x 256 x 13 x 13
                conv3=nn.Conv2d(256, 384, 3, padding=1),
                relu3=nn.ReLU(inplace=True),
                conv4=nn.Conv2d(384, 384, 3, padding=1, groups=2),
                relu4=nn.ReLU(inplace=True),
                conv5=nn.Conv2d(384, 256, 3, padding=1, groups=2),
                relu5=nn.ReLU(inplace=True),
                pool5=nn.MaxPool2d(3, stride=2),  # N x 256 x 6 x 6
            )
        )
        self.classifier = nn.Sequential(
            OrderedDict(
                fc6=nn.Linear(256 * 6 * 6, 4096),
                relu6=nn.ReLU(inplace=True),
                drop6=nn.Dropout(dropout),
                fc7=nn.Linear(4096, 4096),
                relu7=nn.ReLU(inplace=True),
                drop7=nn.Dropout(dropout),
                fc8=nn.Linear(4096, num_classes),
            )
        )
        self.size_steps = ("features.conv1", "features.pool1", "features.pool2", "features.pool5")
        self._init_like_the_paper()

    def _init_like_the_paper(self) -> None:
        """Sec. 5: weights N(0, 0.01^2); biases 1 in conv2, conv4, conv5 and the hidden FC layers, else 0.

        The paper: the positive biases "accelerate the early stages of learning by providing the ReLUs with
        positive inputs".
        """
        ones = {"conv2", "conv4", "conv5", "fc6", "fc7"}
        for name, module in (*self.features.named_children(), *self.classifier.named_children()):
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.normal_(module.weight, mean=0.0, std=0.01)
                nn.init.constant_(module.bias, 1.0 if name in ones else 0.0)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = torch.flatten(x, 1)
        x = self.classifier[:-1](x)
        return x if pre_logits else self.classifier.fc8(x)


HIDDEN_UNITS = 4096  # fc6 and fc7 (Sec. 3.5)


def fc_classifier(in_features: int, num_classes: int, dropout: float, *, dropout_first: bool = False) -> nn.Sequential:
    """AlexNet's classifier as torchvision numbers it, which VGG keeps (Sec. 2.1 there): two hidden layers of 4096
    units, each with a ReLU and dropout (Sec. 4.2), then the output layer.

    The paper (and VGG) drop each hidden layer's output after its ReLU; torchvision's AlexNet drops each hidden
    layer's input instead (``dropout_first``), which moves the linear layers to indices 1, 4 and 6.
    """
    layers: list[nn.Module] = []
    for fan_in in (in_features, HIDDEN_UNITS):
        hidden = [nn.Linear(fan_in, HIDDEN_UNITS), nn.ReLU(inplace=True)]
        layers += [nn.Dropout(dropout), *hidden] if dropout_first else [*hidden, nn.Dropout(dropout)]
    return nn.Sequential(*layers, nn.Linear(HIDDEN_UNITS, num_classes))


class PooledClassifier(ImageClassifier):
    """torchvision's layout of AlexNet and VGG: ``features``, an adaptive average pool (``avgpool``) to the size
    the classifier flattens, and ``classifier``, whose last layer gives the logits (the layers before it, the
    pre-logits)."""

    features: nn.Sequential
    avgpool: nn.AdaptiveAvgPool2d
    classifier: nn.Sequential

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = torch.flatten(self.avgpool(x), 1)
        x = self.classifier[:-1](x)
        return x if pre_logits else self.classifier[-1](x)


class TorchvisionAlexNet(PooledClassifier):
    """torchvision's ``alexnet``: the same module names and layers, so its weights load unchanged.

    ``conv 11x11/4 64 -> pool -> conv 5x5 192 -> pool -> conv 3x3 384 -> conv 3x3 256 -> conv 3x3 256 ->
    pool -> adaptive average pool 6x6 -> fc 4096 -> fc 4096 -> fc``, ReLU after every conv and hidden FC.
    61,100,840 parameters.

    Deviations from the paper (torchvision's, kept so the weights fit): channels 64-192-384-256-256 from
    cuda-convnet2's one-GPU configuration (after Krizhevsky, "One weird trick for parallelizing
    convolutional neural networks", 2014) instead of 96-256-384-384-256; one tower (no groups); no LRN;
    conv1 padded by 2 so a 224 input gives 55x55; an adaptive average pool to 6x6 before the classifier,
    so any input from 63x63 up works (it is the identity at 224); dropout before fc6 and fc7 (on the pool5
    features and the fc6 output) instead of after fc6 and fc7; PyTorch's default initialisation.
    """

    torchvision_compatible = True

    def __init__(self, *, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__(in_channels=in_channels, num_classes=num_classes, num_features=256)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, 11, stride=4, padding=2),  # N x 64 x 55 x 55
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),  # N x 64 x 27 x 27
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),  # N x 192 x 13 x 13
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),  # N x 256 x 6 x 6
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))  # N x 256 x 6 x 6 at any input size
        self.classifier = fc_classifier(256 * 6 * 6, num_classes, dropout, dropout_first=True)
        self.size_steps = ("features.0", "features.2", "features.5", "features.12")


# Both models' recipe (TrainConfig settings, see ModelSpec.recipe), Sec. 5: SGD, batch 128, momentum 0.9, weight
# decay 5e-4, lr 0.01 divided by 10 when the validation error stops improving (3 times, ~90 epochs); crops, flips,
# PCA lighting.
RECIPE = {
    "recipe": "alexnet", "epochs": 90, "batch_size": 128, "optimizer": "sgd", "lr": 0.01, "momentum": 0.9,
    "weight_decay": 5e-4, "schedule": "plateau", "gamma": 0.1, "patience": 5, "augment": ("crop", "flip", "pca"),
}  # fmt: skip
SPEC = {"paper": PAPER, "year": 2012, "recipe": RECIPE}


@register_model(
    **SPEC,
    section="Sec. 3.1-3.5, Fig. 2; Sec. 4.2 (dropout); Sec. 5 (init)",
    input_size=(3, INPUT_SIZE, INPUT_SIZE),
    params=60_965_224,
    notes="Input 227x227 as Caffe's bvlc_alexnet (the paper's 224 gives 54x54 after conv1, not its 55x55); "
    "the two GPU towers as groups=2 on conv2/4/5; LRN over all maps of a layer; dropout scales at training "
    "time instead of halving outputs at test time.",
)
def alexnet(*, num_classes: int = 1000, in_channels: int = 3) -> AlexNet:
    """The paper's AlexNet, with LRN and the two towers."""
    return AlexNet(in_channels=in_channels, num_classes=num_classes)


@register_model(
    **SPEC,
    section="Sec. 3, as torchvision's alexnet (after Krizhevsky 2014, One weird trick, arXiv:1404.5997)",
    input_size=(3, 224, 224),
    params=61_100_840,
    notes="torchvision's layout and names: channels 64-192-384-256-256, one tower, no LRN, conv1 padding 2, "
    "adaptive average pool to 6x6, dropout before fc6 and fc7, PyTorch's default init.",
)
def alexnet_tv(*, num_classes: int = 1000, in_channels: int = 3) -> TorchvisionAlexNet:
    """torchvision's single-tower AlexNet; ``load_torchvision_weights`` fills it."""
    return TorchvisionAlexNet(in_channels=in_channels, num_classes=num_classes)
