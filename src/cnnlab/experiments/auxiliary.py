"""GoogLeNet's auxiliary classifiers: do they bring more gradient to the early layers?

Szegedy et al. 2015, Sec. 5: "By adding auxiliary classifiers connected to these intermediate layers, we would
expect to encourage discrimination in the lower stages in the classifier, increase the gradient signal that
gets propagated back, and provide additional regularization"; their losses weigh 0.3. The lecture:
"Auxiliary classifiers only used during training to improve backwards flow of gradient". Later work (Szegedy
et al. 2016, Sec. 4) found they did not speed up training early on and helped little at the end.

:func:`~cnnlab.models.twins.deep_aux_net` (thirteen plain 3x3 layers, no normalisation, no shortcut) is
trained with and without its two auxiliary classifiers, same seeds and recipe. The gradient that reaches each
layer is measured on the same 256 training digits: at initialisation (both networks start from the same
weights: the auxiliary heads are built last) with the main loss alone and with the auxiliary losses added,
and after training, in the network trained with them, again with and without their losses (the network
trained without them is drawn beside it). The training curves and test accuracies are reported too. The
claim holds when, for every seed, at initialisation and after training, the gradient norm at the first layer
is larger with the auxiliary losses than without; the accuracy is reported whichever way it goes.

What it showed on our machine (quick preset, seeds 0-2): at initialisation the auxiliary losses did not
reliably add gradient at the first layer (x0.45, x0.66 and x2.33: their gradients partly cancel the main
loss's), while in the trained networks they brought 2 to 14 times the main loss's gradient there; test
accuracy 94.1% with them against 94.4% without, as small an effect as Szegedy et al. later reported. With
PyTorch's default initialisation instead of He's, the plain stack did not train at all (chance after 6
epochs, a first-layer gradient of 5e-7) and the one with auxiliary classifiers reached 56%: that is where
they rescue the flow.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F

from cnnlab.data.datasets import load_dataset
from cnnlab.experiments._base import ExperimentResult, Settings, Variant, register, train_variants
from cnnlab.experiments._scaffold import outcome, per_seed, save_figure, seed_lines
from cnnlab.models import create_model
from cnnlab.models.twins import DeepAuxNet
from cnnlab.viz.figure import new_picture

__all__ = ["auxiliary_experiment", "gradient_norms"]

CLAIM = "auxiliary classifiers increase the gradient reaching the early layers (GoogLeNet)"
PRESETS = {"quick": {"epochs": 6, "seeds": (0, 1, 2), "data": "mnist5k"},
           "full": {"epochs": 30, "seeds": (0, 1, 2, 3, 4), "data": "cifar10"}}  # fmt: skip
PROBE = 256  # training images the gradient is measured on
ARMS = {"without": False, "with auxiliary": True}  # each variant's label and deep_aux_net's aux_logits


def _layers(model: DeepAuxNet) -> list[torch.nn.Conv2d]:
    return [model.stem, *model.convs]


def gradient_norms(model: DeepAuxNet, x: torch.Tensor, labels: torch.Tensor, *, auxiliary: bool) -> list[float]:
    """The L2 norm of the loss's gradient at each convolution's weights, first layer first.

    ``auxiliary``: the training loss with the auxiliary classifiers (weighted as the model says), else the
    main classifier's cross-entropy alone. The model is put in training mode for the pass and left as it was.
    """
    was_training = model.training
    model.train()
    model.zero_grad(set_to_none=True)
    output = model.forward_train(x)
    loss = F.cross_entropy(output.logits, labels)
    if auxiliary:
        for weight, logits in zip(model.aux_loss_weights, output.aux_logits, strict=True):
            loss = loss + weight * F.cross_entropy(logits, labels)
    loss.backward()
    norms = [float(layer.weight.grad.norm()) for layer in _layers(model)]
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return norms


def _initial_model(seed: int, aux_logits: bool, in_channels: int, num_classes: int) -> DeepAuxNet:
    """The network as the trainer builds it for ``seed``."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = create_model("deep_aux_net", aux_logits=aux_logits, in_channels=in_channels, num_classes=num_classes)
    return cast(DeepAuxNet, model)


def _figure(profiles: dict[str, list[float]], curves: dict[str, list[list[float]]], out: Path) -> Path:
    figure = new_picture(1200, 440)
    left, right = figure.subplots(1, 2)
    styles = {"at start, main loss": ("C0", "--"), "at start, with auxiliary losses": ("C1", "--"),
              "trained with auxiliary, main loss": ("C0", "-"), "trained with auxiliary, all losses": ("C1", "-"),
              "trained without": ("C2", ":")}  # fmt: skip
    for label, norms in profiles.items():
        colour, style = styles[label]
        left.plot(range(1, len(norms) + 1), norms, style, color=colour, marker="o", markersize=3, label=label)
    left.set(yscale="log", xlabel="layer (1: the first)", ylabel="gradient norm at its weights",
             title="the gradient reaching each layer (seed 0)")  # fmt: skip
    left.grid(alpha=0.3)
    left.legend(fontsize=8)
    right.set(yscale="log", xlabel="epoch", ylabel="training error of the main classifier",
              title="training (a line per seed)")  # fmt: skip
    seed_lines(
        right, {label: [(range(1, len(losses) + 1), losses) for losses in runs] for label, runs in curves.items()}
    )
    return save_figure(figure, out, "auxiliary")


@register("auxiliary", CLAIM, lecture=130,
          about="the gradient at the first layers with and without GoogLeNet's auxiliary classifiers")  # fmt: skip
def auxiliary_experiment(settings: Settings) -> ExperimentResult:
    """Gradient norms by depth with and without auxiliary losses, and deep_aux_net trained both ways."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    data = settings.data or preset["data"]
    dataset = load_dataset(data, settings.data_dir, settings.download)
    channels, classes = dataset.channels, dataset.num_classes
    variants = {label: Variant("deep_aux_net", f"deep-aux-{'with' if aux else 'without'}",
                               {"model_args": {"aux_logits": aux, "in_channels": channels}})
                for label, aux in ARMS.items()}  # fmt: skip
    ratios_start, ratios_end, profiles = [], [], {}
    curves: dict[str, list[list[float]]] = {label: [] for label in ARMS}
    accuracy: dict[str, list[float]] = {label: [] for label in ARMS}
    for seed in seeds:  # seed by seed: the gradients compare the two networks a seed trained
        runs = train_variants(settings, variants, (seed,), lambda run: run, epochs=preset["epochs"], data=data)
        trained = {}
        for label, (run,) in runs.items():
            curves[label].append([1 - row.train_top1 for row in run.metrics])  # the main classifier's
            accuracy[label].append(run.summary.test_top1)
            trained[label] = run.trained("last")
        probe = trained["without"].normalization.apply(dataset.train.images[:PROBE])
        labels = dataset.train.labels[:PROBE]
        start = _initial_model(seed, True, channels, classes)
        start_main = gradient_norms(start, probe, labels, auxiliary=False)
        start_aux = gradient_norms(start, probe, labels, auxiliary=True)
        end_plain = gradient_norms(cast(DeepAuxNet, trained["without"].model), probe, labels, auxiliary=False)
        helped = cast(DeepAuxNet, trained["with auxiliary"].model)
        end_main = gradient_norms(helped, probe, labels, auxiliary=False)
        end_aux = gradient_norms(helped, probe, labels, auxiliary=True)
        ratios_start.append(start_aux[0] / start_main[0])
        ratios_end.append(end_aux[0] / end_main[0])
        if seed == seeds[0]:
            profiles = {"at start, main loss": start_main, "at start, with auxiliary losses": start_aux,
                        "trained with auxiliary, main loss": end_main, "trained with auxiliary, all losses": end_aux,
                        "trained without": end_plain}  # fmt: skip
    held = all(r > 1 for r in ratios_start) and all(r > 1 for r in ratios_end)
    with_aux, without = statistics.fmean(accuracy["with auxiliary"]), statistics.fmean(accuracy["without"])
    verdict = (
        f"At the first layer the auxiliary losses multiplied the gradient by {statistics.fmean(ratios_start):.2f} "
        f"at initialisation and by {statistics.fmean(ratios_end):.2f} in the network trained with them; test "
        f"accuracy {with_aux:.2%} with the auxiliary classifiers against "
        f"{without:.2%} without (mean of {len(seeds)} seed(s); accuracy is not part of the verdict): {outcome(held)}"
    )
    headers = ["", "main loss alone", "with auxiliary losses", "ratio (mean)", "per seed"]
    rows: list[list[Any]] = [
        ["first-layer gradient, at start (seed 0)", f"{profiles['at start, main loss'][0]:.3g}",
         f"{profiles['at start, with auxiliary losses'][0]:.3g}", f"{statistics.fmean(ratios_start):.2f}",
         per_seed(ratios_start, ".2f")],
        ["first-layer gradient, trained with them (seed 0)", f"{profiles['trained with auxiliary, main loss'][0]:.3g}",
         f"{profiles['trained with auxiliary, all losses'][0]:.3g}", f"{statistics.fmean(ratios_end):.2f}",
         per_seed(ratios_end, ".2f")],
        ["test top-1 (trained without them, with them)", f"{without:.2%}", f"{with_aux:.2%}", "",
         " / ".join(per_seed(accuracy[k]) for k in ARMS)],
    ]  # fmt: skip
    figure = _figure(profiles, curves, settings.out)
    record = {"seeds": list(seeds), "data": data, "ratio_at_start": ratios_start, "ratio_trained": ratios_end,
              "profiles_seed0": profiles, "training_loss": curves, "test_top1": accuracy,
              "epochs": settings.epochs or preset["epochs"]}  # fmt: skip
    return ExperimentResult("auxiliary", CLAIM, held, verdict, headers, rows, record, figure)
