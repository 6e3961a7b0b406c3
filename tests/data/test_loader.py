import pytest
import torch

from cnnlab.data.augment import PCAColourNoise, random_affine, random_crop, random_elastic, random_flip
from cnnlab.data.datasets import Split, load_dataset
from cnnlab.data.loader import BatchLoader, Normalization, fit_to_model


def _split(n=10, c=1, size=4):
    images = torch.arange(n * c * size * size, dtype=torch.int64).remainder(256).to(torch.uint8).view(n, c, size, size)
    return Split(images, torch.arange(n))


def test_batches_cover_the_split_once_per_epoch_in_a_seeded_order():
    loader = BatchLoader(_split(10), 3, Normalization((0.0,), (1.0,)), shuffle=True, seed=1)
    labels = torch.cat([y for _, y in loader])
    assert sorted(labels.tolist()) == list(range(10)) and len(loader) == 4
    again = torch.cat([y for _, y in BatchLoader(_split(10), 3, Normalization((0.0,), (1.0,)), shuffle=True, seed=1)])
    assert torch.equal(labels, again)
    loader.set_epoch(1)
    assert not torch.equal(torch.cat([y for _, y in loader]), labels)


def test_drop_last_and_normalisation():
    loader = BatchLoader(_split(10), 4, Normalization((0.5,), (0.25,)), drop_last=True)
    batches = list(loader)
    assert len(batches) == len(loader) == 2 and loader.num_images == 8
    x, _ = batches[0]
    expected = (_split(10).images[:4].float() / 255 - 0.5) / 0.25
    torch.testing.assert_close(x, expected)


def test_processes_get_disjoint_equal_shares():
    identity = Normalization((0.0,), (1.0,))
    loaders = [BatchLoader(_split(11), 2, identity, shuffle=True, rank=r, world_size=2) for r in range(2)]
    shares = [torch.cat([y for _, y in loader]) for loader in loaders]
    assert len(shares[0]) == len(shares[1]) == 5
    assert not set(shares[0].tolist()) & set(shares[1].tolist())


def test_lenet_normalisation_maps_background_and_ink_like_the_paper():
    norm = Normalization.lenet()
    values = norm.apply(torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2))
    torch.testing.assert_close(values.flatten(), torch.tensor([-0.1, 1.175]))
    assert abs(norm.background() + 0.1) < 1e-6


def test_random_crop_shifts_each_image_by_at_most_the_padding():
    x = torch.zeros(64, 1, 9, 9)
    x[:, :, 4, 4] = 1
    out = random_crop(x, 2, torch.Generator().manual_seed(0))
    positions = torch.nonzero(out[:, 0])[:, 1:]
    assert len(positions) == 64 and (positions - 4).abs().max() <= 2
    assert len({tuple(p.tolist()) for p in positions}) > 10


def test_random_flip_mirrors_about_half():
    x = torch.arange(4.0).view(1, 1, 1, 4).expand(1000, 1, 1, 4)
    out = random_flip(x, torch.Generator().manual_seed(0))
    flipped = (out[:, 0, 0, 0] == 3).float().mean()
    assert 0.4 < flipped < 0.6 and torch.equal(out[out[:, 0, 0, 0] == 3][0, 0, 0], torch.tensor([3.0, 2, 1, 0]))


def test_random_affine_keeps_mass_and_background():
    x = torch.full((16, 1, 16, 16), -0.1)
    x[:, :, 6:10, 6:10] = 1.0
    out = random_affine(x, torch.Generator().manual_seed(0), fill=-0.1)
    assert out.shape == x.shape and not torch.equal(out, x)
    assert torch.allclose(out[:, :, 0, 0], torch.tensor(-0.1))
    assert ((out + 0.1).sum(dim=(1, 2, 3)) / (x + 0.1).sum(dim=(1, 2, 3))).sub(1).abs().max() < 0.3


def test_pca_colour_noise_moves_along_the_main_colour_axis():
    torch.manual_seed(0)
    base = torch.randn(200, 1, 4, 4)
    images = torch.cat([base, base, base], 1) + 0.01 * torch.randn(200, 3, 4, 4)  # gray: one colour axis
    noise = PCAColourNoise(images)
    shift = noise(torch.zeros(50, 3, 4, 4), torch.Generator().manual_seed(0))[:, :, 0, 0]
    direction = torch.nn.functional.normalize(shift, dim=1).abs()
    assert (direction - 3**-0.5).abs().max() < 0.05  # along (1, 1, 1)


def test_fit_to_model_pads_digits_and_converts_channels():
    digits = load_dataset("digits")
    fitted, notes = fit_to_model(digits, 3, lambda h, w: h >= 32, (32, 32))
    assert fitted.train.images.shape[1:] == (3, 32, 32)
    assert any("resized to 32x32" in n for n in notes) and any("3-channel by repeating" in n for n in notes)
    mnist_like = Split(torch.zeros(2, 1, 28, 28, dtype=torch.uint8), torch.zeros(2, dtype=torch.long))
    small = type(digits)("m", digits.classes, mnist_like, mnist_like)
    padded, notes = fit_to_model(small, 1, lambda h, w: h == 32, (32, 32))
    assert padded.train.images.shape[2:] == (32, 32) and notes == ["m: 28x28 images padded to 32x32 for the model"]


def test_random_affine_samples_where_affine_grid_would():
    x = torch.randn(5, 2, 12, 9)
    generator = torch.Generator().manual_seed(3)
    out = random_affine(x, generator, fill=0.0)
    # the same draws, through F.affine_grid
    generator = torch.Generator().manual_seed(3)
    u = [torch.rand(5, generator=generator) for _ in range(4)]
    angle = (u[0] * 20 - 10) * torch.pi / 180
    scale = 1 + (u[1] * 0.2 - 0.1)
    shift_x, shift_y = (u[2] * 4 - 2) * (2 / 9), (u[3] * 4 - 2) * (2 / 12)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift_x], 1), torch.stack([sin, cos, shift_y], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    expected = torch.nn.functional.grid_sample(x, grid, align_corners=False)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_prefetching_hands_out_the_same_batches():
    identity = Normalization((0.0,), (1.0,))

    def flip_half(x, generator):
        return random_flip(x, generator)

    plain = BatchLoader(_split(50), 4, identity, shuffle=True, augment=(flip_half,), seed=2)
    ahead = BatchLoader(_split(50), 4, identity, shuffle=True, augment=(flip_half,), seed=2, prefetch=True)
    for (x1, y1), (x2, y2) in zip(plain, ahead, strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    first = next(iter(ahead))  # stopping early must not hang
    assert first[0].shape == (4, 1, 4, 4)


def test_prefetching_passes_errors_on():
    def broken(x, generator):
        raise ValueError("augmentation failed")

    loader = BatchLoader(_split(10), 2, Normalization((0.0,), (1.0,)), augment=(broken,), prefetch=True)
    with pytest.raises(ValueError, match="augmentation failed"):
        list(loader)


def test_elastic_distortion_moves_pixels_smoothly_and_keeps_the_background():
    x = torch.full((8, 1, 32, 32), -0.1)
    x[:, :, 10:22, 14:18] = 1.0  # a stroke
    out = random_elastic(x, torch.Generator().manual_seed(0), fill=-0.1)
    assert out.shape == x.shape and not torch.allclose(out, x)
    assert torch.allclose(out[:, :, 0, :], torch.tensor(-0.1))  # the border stays background
    ink = (out > 0.3).float().sum(dim=(1, 2, 3))
    assert ((ink - 48).abs() < 30).all()  # the stroke is moved and bent, not destroyed
    again = random_elastic(x, torch.Generator().manual_seed(0), fill=-0.1)
    assert torch.equal(out, again)


def test_closing_a_prefetching_iterator_stops_its_thread():
    import threading

    loader = BatchLoader(_split(400), 2, Normalization((0.0,), (1.0,)), prefetch=True)
    batches = iter(loader)
    next(batches)
    batches.close()
    assert not any(t.name == "cnnlab-prefetch" for t in threading.enumerate())
