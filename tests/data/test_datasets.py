import pytest
import torch

from cnnlab.data.datasets import load_dataset


@pytest.fixture(scope="module")
def mnist5k():
    return load_dataset("mnist5k")


def test_mnist5k_is_4000_train_1000_test_padded_to_32(mnist5k):
    assert (len(mnist5k.train), len(mnist5k.test)) == (4000, 1000)
    assert mnist5k.train.images.shape[1:] == (1, 32, 32) and mnist5k.train.images.dtype == torch.uint8
    assert mnist5k.classes == tuple("0123456789")
    # the 2-pixel border added around the 28x28 digits is background
    border = torch.cat([mnist5k.train.images[..., :2, :].flatten(), mnist5k.train.images[..., -2:].flatten()])
    assert border.max() == 0
    assert mnist5k.train.images.float().mean() > 10  # real digits, not zeros
    assert set(mnist5k.test.labels.tolist()) == set(range(10))


def test_no_test_image_is_ever_in_training(mnist5k):
    def keys(split):
        return {bytes(img.numpy().tobytes()) for img in split.images}

    with_val = mnist5k.with_validation(0.1)
    assert not keys(mnist5k.train) & keys(mnist5k.test)
    assert not keys(with_val.train) & keys(with_val.test)
    assert not keys(with_val.train) & keys(with_val.val)
    assert len(with_val.train) + len(with_val.val) == 4000


def test_the_split_is_fixed_across_loads(mnist5k):
    again = load_dataset("mnist5k")
    assert torch.equal(again.test.images, mnist5k.test.images)
    assert torch.equal(again.test.labels, mnist5k.test.labels)


def test_validation_split_keeps_class_proportions(mnist5k):
    val = mnist5k.with_validation(0.2, seed=3).val
    counts = torch.bincount(val.labels, minlength=10).float()
    expected = torch.bincount(mnist5k.train.labels, minlength=10).float() * 0.2
    assert (counts - expected).abs().max() <= 1
    with pytest.raises(ValueError, match="between 0 and 1"):
        mnist5k.with_validation(1.5)


@pytest.mark.parametrize("count", [10, 100, 305, 4000])
def test_train_images_keeps_a_balanced_subset_of_training_only(mnist5k, count):
    subset = mnist5k.with_train_images(count, seed=1)
    assert len(subset.train) == count and torch.equal(subset.test.images, mnist5k.test.images)
    counts = torch.bincount(subset.train.labels, minlength=10)
    if count <= 10 * int(torch.bincount(mnist5k.train.labels).min()):  # every class has that many
        assert counts.max() - counts.min() <= 1
    originals = {bytes(img.numpy().tobytes()) for img in mnist5k.train.images}
    assert all(bytes(img.numpy().tobytes()) in originals for img in subset.train.images[:50])
    again = mnist5k.with_train_images(count, seed=1)
    assert torch.equal(again.train.labels, subset.train.labels)  # the seed decides, and only the seed
    if count < 4000:
        assert not torch.equal(mnist5k.with_train_images(count, seed=2).train.images, subset.train.images)


def test_train_images_refuses_what_there_is_not(mnist5k):
    with pytest.raises(ValueError, match="expected 10 .one per class. to 4,000"):
        mnist5k.with_train_images(4001)
    with pytest.raises(ValueError, match="got 9"):
        mnist5k.with_train_images(9)
    with pytest.raises(ValueError, match="left beside validation"):
        mnist5k.with_validation(0.5).with_train_images(3000)


def test_sklearn_digits():
    digits = load_dataset("digits")
    assert (len(digits.train), len(digits.test)) == (1437, 360)
    assert digits.image_size == (8, 8) and digits.train.images.max() == 255


def test_unknown_and_missing_datasets_explain_themselves(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'cifar'; did you mean cifar10"):
        load_dataset("cifar")
    with pytest.raises(ValueError, match="needs data_dir"):
        load_dataset("cifar10")
    with pytest.raises(ValueError, match=r"does not exist \(add download=True"):
        load_dataset("cifar10", tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"cifar10 is not in .*add download=True"):
        load_dataset("cifar10", tmp_path)


def test_torchvision_sets_load_from_disk_without_download(tmp_path):
    """A fake MNIST in torchvision's on-disk format loads with no network and the right layout."""
    import numpy as np

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)

    def write(name, magic, array):
        header = np.array([magic, *array.shape], dtype=">i4").tobytes()
        (raw / name).write_bytes(header + array.astype(np.uint8).tobytes())

    rng = np.random.default_rng(0)
    for prefix, n in (("train", 20), ("t10k", 10)):
        write(f"{prefix}-images-idx3-ubyte", 2051, rng.integers(0, 256, (n, 28, 28)))
        write(f"{prefix}-labels-idx1-ubyte", 2049, rng.integers(0, 10, (n,)))
    mnist = load_dataset("mnist", tmp_path)
    assert (len(mnist.train), len(mnist.test)) == (20, 10)
    assert mnist.train.images.shape == (20, 1, 28, 28) and not mnist.flips


def test_image_channels_are_known_from_the_name():
    from cnnlab.data.facts import DATASET_NAMES, image_channels

    assert {name: image_channels(name) for name in DATASET_NAMES} == {
        "mnist5k": 1, "digits": 1, "mnist": 1, "fashion-mnist": 1, "cifar10": 3, "cifar100": 3,
    }  # fmt: skip
    assert image_channels("digits") == load_dataset("digits").channels
