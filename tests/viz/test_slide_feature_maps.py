"""Feature maps and filters on a slide: text of 18 pt or more, landscape, the input beside the maps, colours that
say the sign, titles of the length asked for, and each layer's picture its own size."""

import matplotlib.colors
import numpy as np
import pytest

from cnnlab.viz.feature_maps import (
    DIVERGING,
    SEQUENTIAL,
    draw_panels,
    feature_map_panel,
    plot_feature_maps,
    plot_filters,
    split_panels,
)
from cnnlab.viz.slide import read_svg

DIGIT = (np.arange(32 * 32).reshape(32, 32) % 256).astype(np.uint8)


def grid_image(picture):
    """The mosaic's image: the largest image drawn (the input panel is smaller)."""
    images = [image for axis in picture.axes for image in axis.get_images()]
    return max(images, key=lambda image: image.get_array().size)


def slide(picture, tmp_path, name="p.svg"):
    return read_svg(picture.save(tmp_path / name))


@pytest.mark.parametrize(("channels", "side"), [(6, 28), (16, 10), (120, 1), (256, 28), (832, 7), (1, 32)])
def test_every_feature_map_picture_reads_at_18_pt_and_is_landscape(tmp_path, channels, side):
    maps = np.random.default_rng(channels).standard_normal((channels, side, side))
    for title in ("short", "full"):
        picture = plot_feature_maps(maps, name="c1", title=title, label="c1 (Conv2d)", caption="lenet5, seed 0\non a 7",
                                    image=DIGIT)  # fmt: skip
        check = slide(picture, tmp_path)
        assert check.passes, (title, check, check.below())
        assert check.aspect >= 1.2, check


def test_a_signed_map_is_diverging_and_centred_on_zero_with_a_colour_bar():
    maps = np.zeros((6, 8, 8), np.float32)
    maps[0, 0, 0], maps[1, 1, 1] = -0.5, 2.0  # mostly zero, a little negative, more positive
    picture = plot_feature_maps(maps, name="c1", image=DIGIT)
    image = grid_image(picture)
    low, high = image.get_clim()
    assert image.get_cmap().name.startswith(DIVERGING) and low == -high == -2.0
    # a zero value is drawn white-ish (the middle of the scale), not the scale's dark end
    red, green, blue, _ = image.get_cmap()(image.norm(0.0))
    assert min(red, green, blue) > 0.9
    assert len(picture.axes) == 3  # the input, the grid, the colour bar
    assert [text.get_text() for text in picture.axes[2].get_yticklabels()] != []


def test_a_map_that_is_never_negative_is_sequential_from_zero():
    maps = np.random.default_rng(0).random((6, 8, 8)) * 3  # after a ReLU
    image = grid_image(plot_feature_maps(maps, name="s2"))
    low, high = image.get_clim()
    assert image.get_cmap().name.startswith(SEQUENTIAL) and low == 0 and high == pytest.approx(maps.max())
    # told it is signed (a layer before its ReLU that happens to be positive), it is diverging anyway
    image = grid_image(plot_feature_maps(maps, name="s2", signed=True))
    assert image.get_cmap().name.startswith(DIVERGING) and image.get_clim()[0] == -image.get_clim()[1]


def test_each_map_on_its_own_scale_keeps_zero_in_the_middle():
    maps = np.stack([np.linspace(-1, 3, 64).reshape(8, 8), np.linspace(-200, 100, 64).reshape(8, 8)])
    image = grid_image(plot_feature_maps(maps, name="c1", scale="channel"))
    assert image.get_clim() == (-1.0, 1.0)
    shown = np.asarray(image.get_array())
    assert np.nanmax(shown) == pytest.approx(1.0) and np.nanmin(shown) == pytest.approx(-1.0)  # the second's -200


def test_the_input_is_drawn_left_of_the_maps():
    picture = plot_feature_maps(np.random.default_rng(0).random((6, 28, 28)), name="c1", image=DIGIT)
    inputs = [axis for axis in picture.axes if axis.get_title() == "input"]
    assert len(inputs) == 1
    (shown,) = inputs[0].get_images()
    np.testing.assert_array_equal(shown.get_array(), DIGIT)
    grid_axis = grid_image(picture).axes
    assert inputs[0].get_position().x1 < grid_axis.get_position().x0
    # maps of 1x1 (bars) too
    bars = plot_feature_maps(np.ones((120, 1, 1)), name="c5", image=DIGIT)
    assert [axis.get_title() for axis in bars.axes].count("input") == 1


def test_titles_short_full_and_none():
    maps = np.random.default_rng(0).standard_normal((6, 28, 28))
    options = {"name": "c1", "label": "c1 (Conv2d)", "caption": "lenet5 trained 1 epoch (run/best.pt)\non a 7"}

    def title(mode):
        texts = [text.get_text() for text in plot_feature_maps(maps, title=mode, **options).texts]
        return "\n".join(texts)

    assert title("short") == "c1: 6 maps of 28x28"
    full = title("full")
    assert full.startswith("c1 (Conv2d): 6 maps of 28x28, values ") and "run/best.pt" in full and "on a 7" in full
    assert title("none") == ""
    with pytest.raises(Exception, match="a title is one of full, short, none"):
        title("long")


def test_layers_of_different_sizes_are_not_padded_to_the_widest():
    rng = np.random.default_rng(0)
    panels = [feature_map_panel(rng.random((6, 28, 28)), name="c1", image=DIGIT),
              feature_map_panel(rng.random((16, 10, 10)), name="c3", image=DIGIT),
              feature_map_panel(rng.random((10, 1, 1)), name="c5", image=DIGIT)]  # fmt: skip
    stacked = draw_panels(panels)
    singles = split_panels(stacked)
    assert [single.size for single in singles] == [(panel.layout.width, panel.layout.height) for panel in panels]
    assert len({single.size[0] for single in singles}) == 3  # three widths: none padded to another's
    assert stacked.size[0] == max(single.size[0] for single in singles)


def test_filters_diverging_centred_and_at_18_pt(tmp_path):
    rng = np.random.default_rng(0)
    for weight, rgb in ((rng.standard_normal((6, 1, 5, 5)), False), (rng.standard_normal((96, 3, 11, 11)), True),
                        (rng.standard_normal((16, 6, 5, 5)), False)):  # fmt: skip
        picture = plot_filters(weight, name="conv1", rgb=rgb, label="conv1 (Conv2d)", caption="alexnet, seed 0")
        check = slide(picture, tmp_path)
        assert check.passes and check.aspect >= 1.2, (weight.shape, check)
        if not rgb:
            image = grid_image(picture)
            low, high = image.get_clim()
            assert image.get_cmap().name.startswith(DIVERGING) and low == -high
            assert high == pytest.approx(np.abs(weight).max())
    short = plot_filters(rng.standard_normal((6, 1, 5, 5)), name="c1", label="c1 (Conv2d)", caption="lenet5")
    assert [text.get_text() for text in short.texts] == ["c1: 6 filters of 1x5x5"]


def test_the_diverging_map_is_the_one_named():
    assert isinstance(matplotlib.colormaps[DIVERGING], matplotlib.colors.Colormap)
    red, _, blue, _ = matplotlib.colormaps[DIVERGING](1.0)
    assert red > blue  # red is positive
