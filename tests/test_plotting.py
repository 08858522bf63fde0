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


def test_a_band_of_betti_numbers_stops_at_zero():
    table = pd.DataFrame({"layer": ["input", "h1"] * 3, "depth": [0, 1] * 3, "label": 0, "dim": 1,
                          "betti": [9, 0, 9, 0, 9, 6]})
    band = plotting.betti_by_layer(table, spread="band").data[0]
    low = np.asarray(band.y)[len(band.x) // 2:]  # the band's lower edge, drawn back from the last depth
    high = np.asarray(band.y)[:len(band.x) // 2]
    assert list(low) == [0.0, 9.0] and high[1] == pytest.approx(2 + np.std([0, 0, 6], ddof=1))


def test_a_reference_only_in_a_later_panel_still_has_its_legend_entry():
    table = pd.DataFrame({"layer": ["input", "h1"] * 2, "depth": [0, 1] * 2, "activation": "relu",
                          "dim": [0, 0, 1, 1], "betti": [9, 1, 9, 3]})
    paper = pd.DataFrame({"activation": ["relu"], "dim": [1], "depth": [1], "value": [3.3]})
    fig = plotting.betti_by_layer(table, series="activation", reference=paper, reference_name="paper")
    named = [trace for trace in fig.data if trace.name == "paper"]
    assert len(named) == 1 and named[0].showlegend and named[0].xaxis == "x2"


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
    # layers numbered from 1, the module's name in the hover text (phone width)
    assert len(fig.data) == 2 and list(fig.data[0].y) == [1, 2, 3]
    assert [row[0] for row in fig.data[0].customdata] == ["b0", "b1", "b2"]
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


def test_heatmap_by_a_column_is_one_heatmap_per_value_behind_a_menu():
    summaries = pd.DataFrame([{"family": f, "epoch": e, "block": f"{f}.b{d}", "depth": d + 2, "dim": dim,
                               "normalised_persistence": e + d + dim + (10 if f == "b" else 0)}
                              for f in ("a", "b") for e in (0, 5) for d in range(3) for dim in (0, 1)])
    fig = plotting.depth_epoch_heatmap(summaries, by="family", value_title="persistence")
    assert len(fig.data) == 4
    assert [t.visible for t in fig.data] == [True, True, False, False]  # the first family shown
    assert list(fig.data[2].y) == [1, 2, 3]  # numbered from the first layer read, whatever its depth
    assert fig.data[2].z[0][0] == 10 and fig.data[0].colorbar.title.text == "persistence"
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["a", "b"]
    assert buttons[1].args[0]["visible"] == [False, False, True, True]
    with pytest.raises(ValueError, match="lacks columns"):
        plotting.depth_epoch_heatmap(summaries, by="seed")


def test_lines_stack_a_row_of_panels_per_value_with_short_titles():
    table = pd.DataFrame([{"family": f, "dim": dim, "state": s, "fraction": x, "value": x + dim + (f == "b"),
                           "seed": seed} for f in ("a", "b") for dim in (0, 1) for s in ("trained", "untrained")
                          for x in (0.0, 0.5, 1.0) for seed in (0, 1)])
    fig = plotting.lines(table, x="fraction", y="value", series="state", facet="dim", facet_row="family",
                         titles={0: "dim 0", 1: "dim 1", "b": "family b"})
    assert len(fig.data) == 2 * 2 * 2  # rows x panels x series
    assert sum(t.showlegend for t in fig.data) == 2  # one legend entry per series
    titles = [a.text for a in fig.layout.annotations]
    assert "dim 0" in titles and "dim 1" in titles
    assert fig.layout.yaxis.title.text == "a" and fig.layout.yaxis3.title.text == "family b"
    assert list(fig.data[-1].y) == [2.0, 2.5, 3.0]  # family b, dim 1, untrained: mean over seeds
    plain = plotting.lines(table[table["family"] == "a"], x="fraction", y="value", series="state", facet="dim")
    assert [a.text for a in plain.layout.annotations] == ["dimension 0", "dimension 1"]
    with pytest.raises(ValueError, match="lacks columns"):
        plotting.lines(table, x="fraction", y="value", series="state", facet_row="nothing")


def test_curves_by_epoch_takes_panel_titles():
    curves = pd.DataFrame([{"epoch": e, "dim": d, "epsilon": x, "betti": e * x} for e in (0, 1) for d in (1, 2)
                           for x in (0.1, 0.2)])
    assert [a.text for a in plotting.curves_by_epoch(curves).layout.annotations] == ["β1", "β2"]
    fig = plotting.curves_by_epoch(curves, titles={1: "loops", 2: "cavities"})
    assert [a.text for a in fig.layout.annotations] == ["loops", "cavities"]


def test_effect_intervals_draw_each_comparison_with_its_status_and_delta():
    summary = pd.DataFrame({"label": ["one arm vs baseline", "another arm vs baseline"], "effect": [1.2, -2.0],
                            "low": [0.4, -2.5], "high": [2.1, -1.5], "status": ["inconclusive", "not reproduced"]})
    points = pd.DataFrame({"label": ["one arm vs baseline"] * 3, "value": [0.5, 1.0, 2.0], "seed": [0, 1, 2]})
    fig = plotting.effect_intervals(summary, points, delta=1.0, label_width=12)
    seeds, *statuses = fig.data
    assert seeds.name == "one seed" and len(seeds.x) == 3
    assert sorted(np.round(seeds.y).astype(int)) == [1, 1, 1]  # the first label is drawn on top
    assert [t.name for t in statuses] == ["inconclusive", "not reproduced"]
    assert statuses[0].marker.symbol != statuses[1].marker.symbol  # not told apart by colour alone
    assert list(statuses[0].error_x.array) == pytest.approx([0.9]) and list(statuses[0].error_x.arrayminus) == pytest.approx([0.8])
    assert [s.x0 for s in fig.layout.shapes] == [0, 1.0]  # no effect, and delta (dotted)
    assert fig.layout.shapes[1].line.dash == "dot"
    assert all("<br>" in text for text in fig.layout.yaxis.ticktext)  # long labels wrapped
    without = plotting.effect_intervals(summary, delta=1.0)
    assert [t.name for t in without.data] == ["inconclusive", "not reproduced"]
    with pytest.raises(ValueError, match="lacks columns"):
        plotting.effect_intervals(summary.drop(columns="status"), delta=1.0)


def test_spanning_tree_draws_the_edges_where_zero_dimensional_bars_die():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0], [5.0, 0.0]])
    fig = plotting.spanning_tree(X)
    edges = [t for t in fig.data if t.mode == "lines"]
    assert len(edges) == len(X) - 1
    lengths = sorted(float(np.hypot(np.diff(t.x)[0], np.diff(t.y)[0])) for t in edges)
    assert lengths == pytest.approx([1.0, 2.0, 4.0])  # the minimum spanning tree: the 0-D deaths
    assert fig.layout.yaxis.scaleanchor == "x"
    with pytest.raises(ValueError, match="shape"):
        plotting.spanning_tree(np.zeros((5, 3)))
