"""Each model's training recipe as its paper gives it (or as close as a modern optimiser allows).

A recipe is a dictionary of :class:`~cnnlab.training.config.TrainConfig` fields; flags and config files
override any of them. Where a paper is silent the comment says what we chose and why. Numbers are from
``shared/reference/paper_facts.md``.
"""

from __future__ import annotations

from typing import Any

from cnnlab.models import get_spec

__all__ = ["RECIPES", "recipe_for"]

# LeCun et al. 1998 (Sec. III-B) distort digits with small random affine maps; Simard et al.'s elastic
# distortions (ICDAR 2003) do better with 3,600 training digits: lenet5's test top-1 was 98.0/98.0/98.3% with
# affine distortions (seeds 0-2) and 98.4-99.2%, mean 98.7%, with elastic ones (seeds 0-6).
DIGIT_AUGMENTATION = ("elastic",)
NATURAL_AUGMENTATION = ("crop", "flip")

RECIPES: dict[str, dict[str, Any]] = {
    # LeCun et al. 1998 train 20 passes with stochastic diagonal Levenberg-Marquardt (Sec. III-A, App. C).
    # Adapted: AdamW with a one-cycle schedule reaches the paper's regime in a few seconds of epochs. The RBF
    # output's logits -(squared distance) span hundreds, so the softmax is taken at temperature 16: the
    # predictions are unchanged (same argmax) and the loss is no longer saturated from the first step.
    # One intra-op thread: LeNet's layers are too small to split across cores (on a busy 2-core machine
    # two threads took 45-58 s where one took 21 s; on an idle one 15.0 s against 14.4 s for the whole
    # command), and the second core makes the next batches.
    #
    # How the main job got here (issue 14), on the 2-core machine, each line ten seeds (0-9) of the whole recipe.
    # "val" is the mean validation top-1 of the checkpoint each run chose, then of its last epoch (of the moving
    # average where there is one); "test" the mean and lowest test top-1 on the 1,000 test digits. Every choice
    # below was made on the validation numbers (or, for folding, before any number: see there); the test
    # numbers are the record.
    #   30 epochs, no average (before the issue): test 98.56 % (98.3), whole command median 23.0 s.
    #   faster kernels (subsampling and C5 as matrix products in training, fused AdamW), same recipe: val
    #     98.58 / 98.38, test 98.51 (98.1); an epoch of 56 steps 0.58 s -> 0.47 s. Same arithmetic, other
    #     rounding: a different draw of the same spread.
    #   + moving average of the weights, decay 0.99 (model_ema): val 98.60 / 98.45, test 98.65 (98.3). Decays
    #     0.995 and 0.998 gave identical runs: the average's warm-up, min(decay, (1 + t) / (10 + t)), stays below
    #     0.995 for the 1,680 steps of 30 epochs.
    #   Tried at 30 epochs with the average, not kept (val, then test): peak lr 1e-2 (98.55 / 98.38; 98.51) and
    #     3e-3 (98.43 / 98.08; 98.62); affine and elastic distortions together (98.30 / 97.95; 98.23); batch 32
    #     (98.60 / 98.40; 98.65, and 20 % slower); label smoothing 0.1 (98.70 / 98.58; 98.74, lowest 98.1) and
    #     logit temperature 8 (98.67 / 98.45; 98.72): small validation gains that did not hold at 24 epochs
    #     (label smoothing 0.1: 98.65 / 98.45; 0.2: 98.38 / 98.23; with temperature 8: 98.20 / 98.12).
    #   Fewer epochs, with the average: 24 epochs 98.62 / 98.53 (test 98.51, lowest 98.0); 22 epochs 98.43 /
    #     98.17 (test 98.35, lowest 98.1); 20 epochs 98.47 / 98.25 (test 98.29, lowest 97.5; without the average
    #     98.45 / 98.17, test 98.16).
    #   Training the last epochs without distortions (augment_off_epochs, as YOLOv8's close_mosaic) at 24
    #     epochs, not kept: 3 epochs 98.67 / 98.45 (test 98.50), 6 epochs 98.67 / 98.52 (test 98.54).
    #   + the 400 validation digits folded into training for the last 4 epochs (fold_val_epochs), a protocol
    #     fixed before its first run: more data cannot be judged on data it trains on, so the rule is "validate
    #     the epochs before, keep the final weights". Test: 24 epochs 98.51 -> 98.63 (98.1), 20 epochs 98.29 ->
    #     98.44 (98.0), 22 epochs 98.35 -> 98.51 (98.2).
    #   torch.compile (inductor, CPU), not kept: 20 epochs took 41.3 s the first time (compiling) and 18.2 s
    #     with inductor's cache warm, against 14.4 s eager.
    # The epochs then: the fewest whose validation matched 30 epochs' (24; 22 and 20 fell 0.2-0.3 points short).
    #
    # A second round, with two protocols that never touch the test digits. (a) "dev val": 1,000 of the 4,000
    # training digits held out for validation (val_fraction 0.25, no folding), the mean last-epoch validation
    # top-1 of the average over ten seeds; base 97.96. (b) "holdout": 1,000 of the training digits set aside as
    # a stand-in test set, the rest split 2,600 / 400 as the recipe splits its 4,000; the mean holdout top-1 of
    # the run's result over ten seeds; the recipe above (24 epochs, folding 4) 97.33.
    #   (a), not kept, all within the noise of the base: AdamW weight decay 0.05 / 0.2 (98.02 / 98.01); batch 128
    #     with peak lr 1e-2 / 6e-3 for 30 epochs (98.10 / 98.03; 22 % more images a second, but no more accuracy
    #     per second); batch 96, lr 8e-3, 27 epochs (98.02); label smoothing 0.05 (97.93); elastic alpha 28 / 40
    #     (98.01 / 97.72); sigma 3.5 (97.50: rougher fields hurt), 4.5 (98.09), 5 (98.14), 6 (97.94); sigma 5
    #     with alpha 28 / 40 (98.02 / 98.10).
    #   (b) folding more of the run: the validation digits in the last 4 / 8 / 12 / 23 epochs of 24: 97.33 /
    #     97.28 / 97.28 / 97.59; no validation split at all (every epoch on every training digit): 20 / 22 / 24 /
    #     28 epochs 97.35 / 97.44 / 97.47 / 97.55. Elastic sigma 5 against 4: 97.47 against 97.44 (22 epochs),
    #     97.66 against 97.47 (24 epochs), 97.34 against 97.33 (folding 4): with (a)'s +0.18, kept.
    # Kept: no validation split (the paper, too, trains on its whole training set and reports the test error),
    # elastic sigma 5, and 22 epochs, the most whose median command fit in 15 s (24 epochs: 15.4 s, 22: 14.6 s;
    # benchmarks/main_job.py, seeds 0-2, the rule set before the run). Checked on (b) with twenty more seeds
    # (10-29): the recipe before 97.44 % (lowest 96.6), this one 97.56 % (lowest 97.2); over all thirty seeds
    # 97.40 against 97.53. On the real test digits (ten seeds, the record, not a choice): 98.43 % (lowest 97.9)
    # against the recipe before's 98.63 % (98.1), a difference the size of the seeds' spread, and the median
    # command 14.3 s. A validation split is one flag away (--val-fraction 0.1), and with it --fold-val-epochs.
    "lenet5": {
        "epochs": 22, "batch_size": 64, "optimizer": "adamw", "lr": 6e-3, "weight_decay": 0.0,
        "schedule": "onecycle", "augment": DIGIT_AUGMENTATION, "elastic_sigma": 5.0, "normalization": "lenet",
        "logit_temperature": 16.0, "model_ema": True, "model_ema_decay": 0.99, "val_fraction": 0.0, "threads": 1,
    },
    # The lecture's baselines share LeNet-5's data, optimiser and schedule, and the 30 epochs LeNet-5 had before
    # its moving average matched their validation accuracy in 24.
    "lenet5_modern": {
        "epochs": 30, "batch_size": 64, "optimizer": "adamw", "lr": 3e-3, "weight_decay": 1e-4,
        "schedule": "onecycle", "augment": DIGIT_AUGMENTATION, "normalization": "lenet", "val_fraction": 0.1,
        "threads": 1,
    },
    # The twins of cnnlab.models.twins are compared on the bundled digits, one idea at a time: LeNet-5's budget
    # and optimiser, without augmentation (the regularisation experiment turns it on as its variable).
    "twins": {
        "epochs": 10, "batch_size": 64, "optimizer": "adamw", "lr": 3e-3, "weight_decay": 1e-4,
        "schedule": "onecycle", "augment": (), "normalization": "lenet", "val_fraction": 0.1, "threads": 1,
    },
    # Krizhevsky et al. 2012, Sec. 5: SGD, batch 128, momentum 0.9, weight decay 5e-4, lr 0.01 divided by
    # 10 when the validation error stops improving (3 times, ~90 epochs); crops, flips, PCA lighting.
    "alexnet": {
        "epochs": 90, "batch_size": 128, "optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4,
        "schedule": "plateau", "gamma": 0.1, "patience": 5, "augment": (*NATURAL_AUGMENTATION, "pca"),
    },
    # Simonyan & Zisserman, Sec. 3.1: batch 256, momentum 0.9, weight decay 5e-4, lr 0.01 / 10 on plateau
    # (3 times), 74 epochs; crops, flips, colour shift.
    "vgg": {
        "epochs": 74, "batch_size": 256, "optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4,
        "schedule": "plateau", "gamma": 0.1, "patience": 5, "augment": (*NATURAL_AUGMENTATION, "pca"),
    },
    # Lin et al. 2014, Sec. 4.1: Krizhevsky's recipe, batch 128, lr / 10 twice when training accuracy stops
    # improving. Base lr, weight decay and length are not given: 0.1, 1e-4 and 120 epochs (our choice),
    # with the translation and flip augmentation of Table 1's 8.81%.
    "nin": {
        "epochs": 120, "batch_size": 128, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
        "schedule": "multistep", "milestones": (60, 90), "gamma": 0.1, "augment": NATURAL_AUGMENTATION,
    },
    # Szegedy et al. 2015, Sec. 6: SGD momentum 0.9, lr decreased by 4% every 8 epochs. The initial lr and
    # batch are not given: 0.01 and 128 (our choice). Aux losses weigh 0.3 (in the model).
    "googlenet": {
        "epochs": 120, "batch_size": 128, "optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 2e-4,
        "schedule": "exponential", "step_epochs": 8, "gamma": 0.96, "augment": NATURAL_AUGMENTATION,
    },
    # Ioffe & Szegedy 2015, Sec. 4.2.1: batch 32, SGD with momentum, lr 0.045 (BN-x30), decayed 6x faster
    # than Inception's (4% every 8/6 epochs), weight decay reduced 5x, no dropout.
    "bn_inception": {
        "epochs": 60, "batch_size": 32, "optimizer": "sgd", "lr": 0.045, "momentum": 0.9, "weight_decay": 4e-5,
        "schedule": "exponential", "step_epochs": 1, "gamma": 0.94, "augment": NATURAL_AUGMENTATION,
    },
    # Szegedy et al. 2016, Sec. 7-8: RMSProp (decay 0.9, eps 1.0), lr 0.045 decayed by 0.94 every 2 epochs,
    # gradient clipping (threshold 2.0, as the later versions of the paper say), label smoothing 0.1.
    "inception": {
        "epochs": 100, "batch_size": 32, "optimizer": "rmsprop", "lr": 0.045, "momentum": 0.0,
        "rmsprop_alpha": 0.9, "rmsprop_eps": 1.0, "weight_decay": 4e-5, "schedule": "exponential",
        "step_epochs": 2, "gamma": 0.94, "grad_clip": 2.0, "label_smoothing": 0.1, "augment": NATURAL_AUGMENTATION,
    },
    # He et al. 2016, Sec. 3.4: SGD, batch 256, lr 0.1 / 10 on plateau, weight decay 1e-4, momentum 0.9,
    # up to 60e4 iterations (~120 epochs); crops and flips.
    "resnet_imagenet": {
        "epochs": 90, "batch_size": 256, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
        "schedule": "step", "step_epochs": 30, "gamma": 0.1, "augment": NATURAL_AUGMENTATION,
    },
    # He et al. 2016, Sec. 4.2: batch 128, lr 0.1 / 10 at 32k and 48k iterations, stop at 64k (on a
    # 45k/5k split: ~91, ~137 and ~182 epochs), weight decay 1e-4, momentum 0.9, 4-pixel crops and flips.
    # Channels-last: 1.22-1.29x faster forward + backward for resnet20 on the 2-core CPU (benchmarks/pipeline.py).
    "resnet_cifar": {
        "epochs": 182, "batch_size": 128, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
        "schedule": "multistep", "milestones": (91, 137), "gamma": 0.1, "augment": NATURAL_AUGMENTATION,
        "val_fraction": 0.1, "channels_last": True,
    },
}  # fmt: skip


def _recipe_name(model: str) -> str:
    family = get_spec(model).family
    if model in ("lenet5", "lenet5_modern"):
        return model
    if model in ("mlp", "locally_connected_net"):
        return "lenet5_modern"
    if family == "twins":
        return "twins"
    if family == "resnet":
        return "resnet_cifar" if get_spec(model).input_size[1] <= 64 else "resnet_imagenet"
    if family in ("inception_v2",):
        return "inception"
    return {"alexnet": "alexnet", "vgg": "vgg", "nin": "nin", "googlenet": "googlenet"}.get(family, family)


def recipe_for(model: str) -> tuple[str, dict[str, Any]]:
    """The recipe's name and its settings for a registered model."""
    name = _recipe_name(model)
    settings = dict(RECIPES.get(name, {}))
    if model == "resnet110":
        # Sec. 4.2: "we use 0.01 to warm up the training until the training error is below 80%
        # (about 400 iterations)": about one epoch.
        settings["warmup_epochs"] = 1.0
    return name, settings
