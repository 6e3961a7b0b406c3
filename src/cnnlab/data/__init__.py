"""Datasets and what turns images into a model's input.

``datasets`` (in memory: the bundled digits and torchvision's sets), ``folder`` (image folders streamed from
disk), ``transforms`` (one image file to a model's input, by torchvision's transforms), ``loader`` (batches,
normalisation, fitting images to a model), ``augment`` (batched augmentation),
``preprocess`` (any one image, as a trained model's training data was made), ``samples`` (real images that
ship with the dependencies) and ``facts`` (what the rest relies on, importable without torch: the dataset
names, the augmentations' constants).
"""
