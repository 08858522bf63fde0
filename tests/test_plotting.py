"""The shared figures: right traces, subsampling, and bad input."""

import numpy as np
import pandas as pd
import pytest

from tdnn_utils import plotting


def test_point_cloud_subsamples_for_display_only():
    X = np.random.default_rng(0).normal(size=(5000, 3))
    y = np.repeat([0, 1], 2500)
    fig = plotting.point_cloud(X, y, max_points=1000)
    assert len(fig.data) == 2 and fig.data[0].type == "scatter3d"
    assert sum(len(trace.x) for trace in fig.data) == 1000
    assert "1,000 of 5,000" in fig.layout.title.text


def test_point_cloud_refuses_4d():
    with pytest.raises(ValueError, match=r"\(10, 4\)"):
        plotting.point_cloud(np.zeros((10, 4)), np.zeros(10))


def test_betti_by_layer_averages_over_runs():
    table = pd.DataFrame({
        "layer": ["input", "h1"] * 2, "depth": [0, 1] * 2, "label": 0, "dim": 0,
        "betti": [4, 2, 6, 2], "seed": [0, 0, 1, 1],
    })
    fig = plotting.betti_by_layer(table)
    trace = fig.data[0]
    assert list(trace.y) == [5.0, 2.0]
    assert list(trace.error_y.array) == pytest.approx([np.std([4, 6], ddof=1), 0.0])
    with pytest.raises(ValueError, match="lacks columns"):
        plotting.betti_by_layer(table.drop(columns="betti"))


def test_persistence_diagrams_draw_infinite_bars_on_top():
    diagrams = {"input": [np.array([[0, 1.0], [0, np.inf]]), np.array([[0.5, 2.0]])]}
    fig = plotting.persistence_diagrams(diagrams)
    h0 = fig.data[0]
    assert h0.y[1] == pytest.approx(2.2)


def test_show_emits_html_without_plotlyjs(monkeypatch):
    shown = {}
    monkeypatch.setattr("IPython.display.display", lambda bundle, raw: shown.update(bundle))
    plotting.show(plotting.point_cloud(np.zeros((3, 2)), np.arange(3)))
    assert "Plotly.newPlot" in shown["text/html"]
    assert len(shown["text/html"]) < 100_000  # plotly.js (3 MB) is not embedded
    assert shown["application/vnd.plotly.v1+json"]["data"]


def test_by_group_and_relative_depth_figures():
    import pandas as pd

    from tdnn_utils import plotting as p

    rows = []
    for arch, n_layers in (("3×15", 4), ("9×15", 10)):
        for seed in (0, 1):
            for depth in range(n_layers + 1):
                for dim, b in enumerate((max(1, 9 - 2 * depth), 0)):
                    rows.append({"architecture": arch, "seed": seed, "label": 0, "depth": depth,
                                 "n_layers": n_layers, "dim": dim, "betti": b})
    betti = pd.DataFrame(rows)
    fig = p.total_by_relative_depth(betti, series="architecture")
    assert [t.name for t in fig.data] == ["3×15", "9×15"]
    assert fig.data[0].x[-1] == 1.0 and fig.data[0].y[0] == 1.0  # relative to the input
    values = pd.DataFrame({"activation": ["relu", "tanh"] * 3, "layers": [1, 4, 2, 5, 1, 6],
                           "problem": ["D-I"] * 6, "seed": range(6)})
    box = p.by_group(values, x="activation", y="layers", color="problem", hover=("seed",))
    assert len(box.data) == 1 and list(box.data[0].y) == [1, 4, 2, 5, 1, 6]
    with pytest.raises(ValueError, match="lacks columns"):
        p.by_group(values, x="activation", y="missing")


def test_heatmap_and_epoch_curves():
    import pandas as pd

    from tdnn_utils import plotting as p

    summaries = pd.DataFrame([{"epoch": e, "block": f"b{d}", "depth": d, "dim": dim,
                               "normalised_persistence": e + d + dim} for e in (0, 5) for d in range(3)
                              for dim in (0, 1)])
    fig = p.depth_epoch_heatmap(summaries)
    assert len(fig.data) == 2 and list(fig.data[0].y) == ["b0", "b1", "b2"]
    assert fig.data[1].z[2][1] == 5 + 2 + 1
    curves = pd.DataFrame([{"epoch": e, "dim": 1, "epsilon": x, "betti": e * x} for e in (0, 1) for x in (0.1, 0.2)])
    lines = p.curves_by_epoch(curves)
    assert [t.name for t in lines.data] == ["epoch 0 (untrained)", "epoch 1"]
    with_null = p.curves_by_epoch(curves, null=curves.assign(betti=0))
    assert with_null.data[-1].name == "shuffled probe" and list(with_null.data[-1].y) == [0, 0]
    assert with_null.data[-1].line.dash == "dash"
    with pytest.raises(ValueError, match="lacks columns"):
        p.depth_epoch_heatmap(summaries.drop(columns="block"))


def test_scatter_colours_facets_and_diagonal():
    import pandas as pd

    from tdnn_utils import plotting as p

    table = pd.DataFrame({"truth": [0.1, 0.2, 0.3, 0.4], "pred": [0.1, 0.3, 0.2, 0.4],
                          "family": ["a", "a", "b", "b"], "predictor": ["m", "t", "m", "t"]})
    fig = p.scatter(table, x="truth", y="pred", color="family", facet="predictor", diagonal=True,
                    x_title="gap", y_title="predicted gap", title="t", hover=("family",))
    names = [t.name for t in fig.data]
    assert names.count("y = x") == 2 and names.count("a") == 2
    assert fig.layout.xaxis.title.text == "gap" and fig.layout.yaxis.title.text == "predicted gap"
    with pytest.raises(ValueError, match="lacks columns"):
        p.scatter(table, x="truth", y="missing", color="family")


def test_reference_points_draw_a_range_in_the_chosen_panel():
    import pandas as pd

    from tdnn_utils import plotting as p

    table = pd.DataFrame({"epoch": [0, 1, 0, 1], "peak": [0.3, 0.2, 0.3, 0.25], "p": 0, "reading": ["a", "a", "b", "b"]})
    fig = p.lines(table, x="epoch", y="peak", series="p", facet="reading", x_title="epoch", y_title="ε")
    p.reference_points(fig, [0, 1], [0.23, 0.135], low=[0.23, 0.11], high=[0.23, 0.16], name="paper", row=1, col=2)
    paper = fig.data[-1]
    assert paper.name == "paper" and paper.xaxis == "x2"
    assert list(paper.error_y.array) == pytest.approx([0.0, 0.025])
    assert list(paper.error_y.arrayminus) == pytest.approx([0.0, 0.025])
    with pytest.raises(ValueError, match="same length"):
        p.reference_points(fig, [0, 1], [0.2])


def test_truth_line_marks_the_true_value_in_one_panel_or_every_panel():
    import pandas as pd

    from tdnn_utils import plotting as p

    table = pd.DataFrame({"layer": ["input", "h1"] * 2, "depth": [0, 1] * 2, "label": 0,
                          "dim": [0, 0, 1, 1], "betti": [4, 1, 2, 0]})
    fig = p.truth_line(p.betti_by_layer(table), 1, label="true β0", row=1, col=1)
    line = [s for s in fig.layout.shapes][-1]
    assert (line.y0, line.y1, line.line.dash, line.yref) == (1, 1, "dash", "y")
    assert any(a.text == "true β0" for a in fig.layout.annotations)
    with pytest.raises(ValueError, match="'z'"):
        p.truth_line(fig, 1, axis="z")
    with pytest.raises(ValueError, match="finite"):
        p.truth_line(fig, float("nan"))


def test_new_figures_use_the_books_transparent_colour_blind_safe_template():
    import plotly.graph_objects as go
    import plotly.io as pio

    from tdnn_utils import colours, plotting as p

    assert pio.templates.default == "plotly_white+book"
    layout = go.Figure().layout.template.layout
    assert layout.paper_bgcolor == layout.plot_bgcolor == "rgba(0, 0, 0, 0)"
    assert list(layout.colorway) == list(colours.SAFE)
    assert not colours.is_red_green_scale(layout.colorscale.sequential)
    fig = p.point_cloud(np.zeros((4, 2)), np.arange(4) % 2, title="x " * 40)
    assert fig.layout.width is None and all(len(line) <= p.TITLE_WIDTH for line in fig.layout.title.text.split("<br>"))
