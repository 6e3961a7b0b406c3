"""``cnnlab predict``: the most likely classes of image files, preprocessed as the model was trained."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cnnlab.cli._parser import os_error_text, positive_int
from cnnlab.data.facts import PREPROCESSING
from cnnlab.files import file_in_the_way

if TYPE_CHECKING:
    from cnnlab.training.prediction import Prediction

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


NAME = "predict"
HELP = "classify image files with a trained model"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN_OR_CKPT", help="a run directory or a .pt checkpoint")
    parser.add_argument(
        "images", metavar="IMAGE", nargs="+", help="image files (PNG, JPEG, ...) or directories of them"
    )
    parser.add_argument("-k", "--top-k", dest="k", type=positive_int, default=5, help="classes shown per image")
    parser.add_argument("--preprocess", choices=PREPROCESSING, default="auto",
                        help="auto: rebuild handwriting for digit models; digit: always; resize: never")  # fmt: skip
    parser.add_argument("--format", choices=("text", "json"), default="text", help="how results are printed")
    parser.add_argument("--save-input", metavar="DIR", help="also save each image as the model sees it, as a PNG")
    parser.set_defaults(handler=run, prog=parser.prog)


def run(args: argparse.Namespace) -> int:
    from cnnlab.run import Run

    if args.save_input and (in_the_way := file_in_the_way(Path(args.save_input).expanduser())) is not None:
        raise in_the_way  # the user's mistake, told before any work (a read-only place is told after, below)
    run = Run(args.run)
    progress = sys.stderr.isatty()
    predictions = run.predict(args.images, k=args.k, preprocess=args.preprocess, strict=False, progress=progress)
    if args.format == "json":
        images = [prediction.to_dict() for prediction in predictions]
        result = {"model": run.trained().name, "checkpoint": str(run.checkpoint()), "images": images}
        print(json.dumps(result, indent=2))
    else:
        width = max(len(name) for name in run.trained().classes)
        for prediction in predictions:
            print(prediction.image)
            if prediction.error is not None:
                print(f"  error: {prediction.error}")
            for guess in prediction.top:
                print(f"  {guess.label:<{width}}  {guess.probability:7.2%}")
    # The predictions are the result, printed first; the inputs as the model saw them are a file on the side.
    unwritten = _save_inputs(predictions, args.save_input) if args.save_input else None
    failed = [prediction for prediction in predictions if prediction.error is not None]
    if failed:  # the others were classified; the exit code and one line on stderr say that not all were
        more = f" ({len(failed)} of {len(predictions)} images could not be classified)" if len(failed) > 1 else ""
        print(f"{args.prog}: error: {failed[0].error}{more}", file=sys.stderr)
    if unwritten is not None:  # 1, as evaluate's missing picture: the predictions are printed, a file is not there
        print(f"{args.prog}: error: the inputs were not saved: {os_error_text(unwritten)}", file=sys.stderr)
    return 2 if failed else 1 if unwritten is not None else 0


def _save_inputs(predictions: list[Prediction], folder: str) -> OSError | None:
    """Save each image as the model saw it into ``folder``; the error that stopped it, if one did."""
    from cnnlab.files import atomic_output

    try:
        for prediction in predictions:
            if prediction.input is None:
                continue
            out = Path(folder).expanduser() / f"{Path(prediction.image).stem}.input.png"
            with atomic_output(out) as temporary:
                prediction.input_image().save(temporary, format="PNG")
    except OSError as error:
        return error
    return None
