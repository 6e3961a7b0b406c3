"""Hypothesis strategies that the tests of the convolution-shaped layers share."""

from hypothesis import strategies as st


@st.composite
def windows(draw: st.DrawFn, max_padding: int) -> dict[str, tuple[int, int]]:
    """A window as ``nn.Conv2d`` takes it, one value per axis: kernel 1-4, stride 1-3, padding 0 to
    ``max_padding``, dilation 1-2."""

    def per_axis(low: int, high: int) -> tuple[int, int]:
        return (draw(st.integers(low, high)), draw(st.integers(low, high)))

    return {
        "kernel_size": per_axis(1, 4),
        "stride": per_axis(1, 3),
        "padding": per_axis(0, max_padding),
        "dilation": per_axis(1, 2),
    }
