"""The book's palette and the red-green check the browser test runs on every figure."""

import itertools

import plotly.express as px
import pytest

from tdnn_utils import colours, plotting


def test_the_red_green_check_finds_the_old_activation_colours_and_red_yellow_green():
    assert colours.red_green_conflicts(["#2ca02c", "#d62728", "#1f77b4"]) == [("#2ca02c", "#d62728")]
    assert colours.is_red_green_scale("RdYlGn")
    assert colours.is_red_green_scale([[0, "#a50026"], [0.5, "#ffffbf"], [1, "#006837"]])
    assert colours.is_red_green_scale(["rgb(165, 0, 38)", "rgb(0, 104, 55)"])


@pytest.mark.parametrize("scale", ["cividis", "Viridis", "RdBu", "Plasma"])
def test_colour_blind_safe_scales_pass(scale):
    assert not colours.is_red_green_scale(scale)


def test_the_books_palette_has_no_red_green_pair():
    assert colours.red_green_conflicts(colours.SAFE) == []
    assert colours.red_green_conflicts(plotting.ACTIVATION_COLOURS.values()) == []
    # plotly's own default palette has such pairs: the check is not vacuous
    assert colours.red_green_conflicts(px.colors.qualitative.D3)


def test_every_series_has_its_own_symbol_and_dash_beside_its_colour():
    styles = [plotting.series_style(name, i) for i, name in enumerate(["a", "b", "c", "d"])]
    for one, two in itertools.combinations(styles, 2):
        assert one["color"] != two["color"] and one["symbol"] != two["symbol"] and one["dash"] != two["dash"]
    assert plotting.series_style("tanh", 0) == plotting.series_style("tanh", 5)  # an activation keeps its own


def test_colours_are_read_in_every_plotly_notation_and_bad_ones_are_named():
    assert list(colours.to_rgb("#fff")) == [255, 255, 255]
    assert list(colours.to_rgb("rgba(1, 2, 3, 0.5)")) == [1, 2, 3]
    assert colours.difference("#123456", "rgb(18, 52, 86)") == pytest.approx(0)
    with pytest.raises(ValueError, match="'red'"):
        colours.to_rgb("red")
    with pytest.raises(ValueError, match="'tritanopia'"):
        colours.seen("#fff", "tritanopia")
