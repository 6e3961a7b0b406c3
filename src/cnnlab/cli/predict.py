"""``cnnlab predict``: the most likely classes of image files, preprocessed as the model was trained."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cnnlab.cli._parser import positive_int

DESCRIPTION = """Classify image files with a trained model: the top-k classes of each, with probabilities
softmax(logits / T), T being the logit temperature the run trained with. RUN_OR_CKPT is a run directory
(its best.pt, else its last.pt) or a checkpoint file.

Each image is prepared as the training images were: read with PIL (any format it reads; transparency
goes on white), made gray or RGB as the training data was, fitted to the input size the model was
trained on (up to 8 pixels short: padded with black, as LeNet-5's 28x28 digits are padded to 32x32;
otherwise resized), and normalised with the run's mean and std.

Models trained on digits (mnist5k, mnist, digits) read handwriting: a digit drawn by a person, dark ink
on white paper, any size, is rebuilt the way MNIST was built. A light background (the image's outer
ring) is inverted to light ink on black, the ink is stretched to full contrast, cut out by its bounding
box, its strokes brought near MNIST's width (a thin pen is thickened, a marker thinned), scaled (aspect
ratio kept) to fit a 20x20 box, and placed with its centre of mass at the centre of a 28x28 field,
which is padded to 32x32 for LeNet-5. An image that already looks like the training data
(light ink on black, at 28x28 or the model's input size) is only fitted. --preprocess digit forces
the rebuilding, --preprocess resize turns it off.

examples:
  cnnlab predict runs/lenet5-mnist5k-20261125-101500 my_seven.png photo_of_a_3.jpg
  cnnlab predict runs/resnet20-cifar10-20261126-090000/best.pt cat.jpg --top-k 3 --format json
  cnnlab predict runs/lenet5-mnist5k-20261125-101500 digit.png --save-input /tmp/seen"""


# cnnlab.training.inference.PREPROCESSING, spelled out here: building the parser must not import torch.
PREPROCESSING = ("auto", "digit", "resize")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("predict", help="classify image files with a trained model",
                                   description=DESCRIPTION)  # fmt: skip
    parser.add_argument("run", metavar="RUN_OR_CKPT", help="a run directory or a .pt checkpoint")
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="image files (PNG, JPEG, ...)")
    parser.add_argument("-k", "--top-k", type=positive_int, default=5, help="classes shown per image")
    parser.add_argument("--preprocess", choices=PREPROCESSING, default="auto",
                        help="auto: rebuild handwriting for digit models; digit: always; resize: never")  # fmt: skip
    parser.add_argument("--format", choices=("text", "json"), default="text", help="how results are printed")
    parser.add_argument("--save-input", metavar="DIR", help="also save each image as the model sees it, as a PNG")
    parser.set_defaults(handler=run, prog=parser.prog)


def _save_input(image: Any, folder: Path, source: Path) -> Path:
    """The fitted uint8 image ``(C, H, W)`` as a PNG: what the model saw, for a person to check."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    pixels = image.permute(1, 2, 0).numpy()
    picture = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels[:, :, :3])
    out = folder / f"{source.stem}.input.png"
    picture.save(out)
    return out


def run(args: argparse.Namespace) -> int:
    import torch

    from cnnlab.training.inference import load_image, load_trained_model

    trained = load_trained_model(args.run)
    paths = [Path(p) for p in args.images]
    # Read every image before classifying any: a bad file fails the command before output starts.
    images = torch.stack([load_image(path, trained, args.preprocess) for path in paths])
    if args.save_input:
        for path, image in zip(paths, images, strict=True):
            _save_input(image, Path(args.save_input), path)
    probabilities = trained.probabilities(images)
    k = min(args.top_k, trained.num_classes)
    top = probabilities.topk(k, dim=1)
    results = [
        {
            "image": str(path),
            "predictions": [
                {"class": trained.classes[i], "index": i, "probability": p}
                for p, i in zip(values.tolist(), indices.tolist(), strict=True)
            ],
        }
        for path, values, indices in zip(paths, top.values, top.indices, strict=True)
    ]
    if args.format == "json":
        print(json.dumps({"model": trained.name, "checkpoint": str(trained.checkpoint), "images": results}, indent=2))
        return 0
    width = max(len(c) for c in trained.classes)
    for result in results:
        print(result["image"])
        for guess in result["predictions"]:
            print(f"  {guess['class']:<{width}}  {guess['probability']:7.2%}")
    return 0
