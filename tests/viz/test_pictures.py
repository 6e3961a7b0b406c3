"""The plotting functions: sizes known in advance, one tile per channel, nothing blank, a self-contained page."""

import base64
import re

import numpy as np
import pytest

from cnnlab.inspection.tables import render_table
from cnnlab.run import EpochMetrics
from cnnlab.viz.confusion import plot_confusion
from cnnlab.viz.curves import plot_curves
from cnnlab.viz.examples import plot_examples
from cnnlab.viz.feature_maps import draw_panels, feature_map_panel, filter_panel, plot_feature_maps, plot_filters
from cnnlab.viz.figure import grid_shape, mosaic
from cnnlab.viz.report import Section, image_tag, render_report
from tests._pictures import check_picture


def test_mosaic_places_every_tile_row_by_row():
    tiles = np.arange(5 * 16 * 16, dtype=np.float32).reshape(5, 16, 16)
    canvas = mosaic(tiles, cols=3)
    gap = 1  # 16-pixel tiles: one line between them
    assert canvas.shape == (2 * 16 + gap, 3 * 16 + 2 * gap)
    np.testing.assert_array_equal(canvas[17:33, 17:33], tiles[4])  # second row, second column
    assert np.isnan(canvas[17:, 34:]).all()  # the sixth place is empty
    small = mosaic(np.ones((4, 2, 2)), cols=2)  # 2x2 tiles are enlarged 8x first: lines stay thin
    assert small.shape == (2 * 16 + 1, 2 * 16 + 1)


@pytest.mark.parametrize(("count", "expected"), [(1, (1, 1)), (6, (2, 3)), (16, (4, 4)), (512, (23, 23))])
def test_grids_are_near_square(count, expected):
    assert grid_shape(count) == expected


@pytest.mark.parametrize(("channels", "side"), [(6, 28), (16, 5), (512, 14), (2048, 7), (64, 112), (1, 32)])
def test_feature_maps_one_tile_per_channel_at_a_bounded_size(tmp_path, channels, side):
    maps = np.random.default_rng(0).standard_normal((channels, side, side))
    picture = plot_feature_maps(maps, name="layer", caption="a caption")
    (grid,) = picture.grids
    assert grid.tiles == channels and grid.rows * grid.cols >= channels > (grid.rows - 1) * grid.cols
    assert max(picture.size) <= 1800
    check_picture(picture.save(tmp_path / "maps.png"), picture.size)


def test_feature_maps_per_channel_scale_and_svg_with_text_as_text(tmp_path):
    maps = np.zeros((4, 8, 8))
    maps[1] = 1000.0  # one strong map would hide the others on a shared scale
    maps[2, 2:4, 2:4] = 1e-3
    svg = plot_feature_maps(maps, name="layer c9", scale="channel").save(tmp_path / "maps.svg").read_text()
    assert svg.startswith("<?xml")
    assert "layer c9: 4 maps of 8x8" in svg  # a <text> element a teacher can edit, not glyph outlines
    with pytest.raises(ValueError, match="scale must be one of layer, channel"):
        plot_feature_maps(maps, name="layer", scale="global")
    with pytest.raises(ValueError, match="pictures are written as png or svg"):
        plot_feature_maps(maps, name="layer").save(tmp_path / "x.jpg")
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_several_layers_stack_into_one_picture(tmp_path):
    rng = np.random.default_rng(0)
    panels = [feature_map_panel(rng.random((6, 28, 28)), name="c1"), filter_panel(rng.random((16, 6, 5, 5)), name="c3")]
    picture = draw_panels(panels)
    assert [(g.name, g.tiles) for g in picture.grids] == [("c1", 6), ("c3", 96)]
    assert picture.size == (max(p.layout.width for p in panels), sum(p.layout.height for p in panels))
    png = picture._repr_png_()  # what Jupyter shows
    assert png.startswith(b"\x89PNG")
    (tmp_path / "stack.png").write_bytes(png)
    check_picture(tmp_path / "stack.png", picture.size)


def test_filters_rgb_gray_and_per_channel(tmp_path):
    rng = np.random.default_rng(0)
    rgb = plot_filters(rng.standard_normal((96, 3, 11, 11)), name="conv1", rgb=True)
    assert (rgb.grids[0].tiles, rgb.grids[0].rows, rgb.grids[0].cols) == (96, 7, 14)  # landscape, for a slide
    pixels = check_picture(rgb.save(tmp_path / "rgb.png"), rgb.size)
    assert np.abs(pixels[..., 0] - pixels[..., 1]).mean() > 5  # in colour
    gray = plot_filters(rng.standard_normal((6, 1, 5, 5)), name="c1")
    assert (gray.grids[0].tiles, gray.grids[0].rows, gray.grids[0].cols) == (6, 2, 3)
    check_picture(gray.save(tmp_path / "gray.png"), gray.size)
    deep = plot_filters(rng.standard_normal((256, 48, 5, 5)), name="conv2")
    grid = deep.grids[0]
    assert (grid.rows, grid.cols, grid.tiles) == (32, 48, 48 * 32)  # capped: 48 filters (columns) x 32 input channels
    check_picture(deep.save(tmp_path / "deep.png"), deep.size)


def test_confusion_curves_and_examples(tmp_path):
    confusion = [[50, 2, 0], [3, 40, 7], [0, 0, 0]]
    picture = plot_confusion(confusion, ("a", "b", "c"), short_title="title")
    check_picture(picture.save(tmp_path / "confusion.png"), (720, 540))
    rows = [
        EpochMetrics(e, 0.1, 1 / e, 0.5 + e / 20, 0.9, 1.2 / e, 0.45 + e / 20, 0.9, 100.0, 1.0) for e in range(1, 6)
    ]
    check_picture(plot_curves([("a", rows)]).save(tmp_path / "one.png"), (800, 450))  # 16:9
    # two runs and two kinds of curve: a legend of two rows under the plots, its text as large as the plots'
    check_picture(plot_curves([("a", rows), ("b", rows[:3])]).save(tmp_path / "curves.png"), (800, 517))
    images = [np.random.default_rng(i).random((28, 28)) for i in range(7)]
    picture = plot_examples(images, [f"#{i}\ntrue 1\npredicted 7" for i in range(7)], title="t")
    grid = picture.grids[0]
    assert (grid.rows, grid.cols, grid.tiles) == (2, 6, 7)
    check_picture(picture.save(tmp_path / "x.png"), picture.size)


@pytest.mark.parametrize("channels", [10, 120, 1024])
def test_maps_of_one_by_one_are_a_bar_per_channel_with_its_value(tmp_path, channels):
    values = np.random.default_rng(channels).standard_normal((channels, 1, 1)).astype(np.float32)
    picture = plot_feature_maps(values, name="c5", caption="lenet5")
    (grid,) = picture.grids
    assert grid.bars and (grid.rows, grid.cols, grid.tiles, grid.shape) == (1, channels, channels, (channels, 1, 1))
    (axis,) = picture.axes  # no colour bar: the value axis is the scale
    heights = [bar.get_height() for bar in axis.patches]
    assert heights == pytest.approx(values.ravel().tolist())
    assert axis.get_xlabel() == "channel" and axis.get_ylabel() == "activation"
    assert picture.texts[0].get_text() == f"c5: {channels} values (maps of 1x1)"
    check_picture(picture.save(tmp_path / "c5.png"), picture.size)
    assert 300 <= picture.size[0] <= 860 and picture.size[1] <= 484  # within the slide-sized canvas


def test_a_one_by_one_layer_stacks_with_tiled_ones(tmp_path):
    rng = np.random.default_rng(0)
    picture = draw_panels(
        [feature_map_panel(rng.random((16, 5, 5)), name="s4"), feature_map_panel(rng.random((120, 1, 1)), name="c5")]
    )
    assert [grid.bars for grid in picture.grids] == [False, True]
    check_picture(picture.save(tmp_path / "both.png"), picture.size)


@pytest.mark.parametrize("count", [2, 3, 7])
def test_the_legend_of_several_runs_covers_no_plot(count):
    rows = [
        EpochMetrics(e, 0.1, 1 / e, 0.5 + e / 20, 0.9, 1.2 / e, 0.45 + e / 20, 0.9, 100.0, 1.0) for e in range(1, 6)
    ]
    picture = plot_curves([(f"lenet5-mnist5k-20261125-04501{i}", rows) for i in range(count)])
    picture.canvas.draw()
    (legend,) = picture.legends
    box = legend.get_window_extent()
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels == [f"lenet5-mnist5k-20261125-04501{i}" for i in range(count)] + ["training", "validation"]
    for axis in picture.axes:
        assert axis.get_legend() is None
        assert not box.overlaps(axis.get_tightbbox()), (box, axis.get_tightbbox())  # axis labels included
    assert box.y0 >= 0 and box.x0 >= 0 and box.x1 <= picture.size[0]


def test_the_page_inlines_pictures_and_escapes_text(tmp_path):
    path = plot_feature_maps(np.random.default_rng(0).random((3, 8, 8)), name="layer").save(tmp_path / "m.png")
    page = render_report(
        "a <title>",
        [("run", "runs/x & y")],
        [Section("maps", "Maps", image_tag(path, "maps") + render_table(["a", "b"], [[1_000, "<b>"]], "html"))],
    )
    assert "a &lt;title&gt;" in page and "runs/x &amp; y" in page and "&lt;b&gt;" in page
    assert '<td class="number">1,000</td>' in page and '<section id="maps">' in page
    (uri,) = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert base64.b64decode(uri) == path.read_bytes()
    assert "http" not in page and "<script" not in page
    with pytest.raises(ValueError, match="only PNG pictures are inlined"):
        image_tag(b"GIF89a", "a gif")


def test_curves_show_the_moving_average_and_shade_the_folded_epochs(tmp_path):
    def row(e: int) -> EpochMetrics:
        validated = e <= 4
        return EpochMetrics(
            e, 0.1, 1 / e, 0.5 + e / 20, 0.9, 1.2 / e if validated else None, 0.45 + e / 20 if validated else None,
            0.9 if validated else None, 100.0, 1.0,
            ema_val_loss=1.1 / e if validated else None, ema_val_top1=0.47 + e / 20 if validated else None,
        )  # fmt: skip

    rows = [row(e) for e in range(1, 7)]
    picture = plot_curves([("a", rows)])
    _, accuracy = picture.axes
    lines = {line.get_label(): line for line in accuracy.get_lines()}
    average = "validation, EMA"
    assert set(lines) == {"training", "validation", average} and lines[average].get_linestyle() == ":"
    assert list(lines[average].get_ydata()[:4]) == pytest.approx([52.0, 57.0, 62.0, 67.0])
    (span,) = [patch for patch in accuracy.patches if patch.get_label() == "trained on val too"]
    left, right = span.get_x(), span.get_x() + span.get_width()
    assert (left, right) == pytest.approx((4.5, 6.5))  # epochs 5 and 6 trained on the validation images
    check_picture(picture.save(tmp_path / "folded.png"), (800, 450))
    # without a moving average or folding, neither is drawn (nor named in a shared legend)
    plain = [EpochMetrics(e, 0.1, 1 / e, 0.5, 0.9, 1.0, 0.5, 0.9, 100.0, 1.0) for e in range(1, 4)]
    picture = plot_curves([("a", plain), ("b", plain)])
    assert average not in [text.get_text() for legend in picture.legends for text in legend.get_texts()]
    assert not [patch for axis in picture.axes for patch in axis.patches if patch.get_label() == "trained on val too"]
