"""Per-network measures of simplification (tdnn_utils.readings) on constructed Betti tables."""

import numpy as np
import pandas as pd
import pytest

from tdnn_utils import readings


def table(curves, k=10, problem="D-II", architecture="9×25", activation="relu"):
    """A tidy Betti table from {(seed, label): [(b0, b1), per depth]}."""
    rows = []
    for (seed, label), curve in curves.items():
        for depth, betti in enumerate(curve):
            rows += [{"problem": problem, "architecture": architecture, "activation": activation,
                      "seed": seed, "layer": f"l{depth}", "depth": depth, "label": label, "k": k,
                      "dim": dim, "betti": b} for dim, b in enumerate(betti)]
    return pd.DataFrame(rows)


FAST = [(9, 9), (1, 0), (1, 0), (1, 0)]   # simple from the first hidden layer on
SLOW = [(9, 9), (9, 9), (9, 9), (1, 0)]   # simple only at the end
NEVER = [(9, 9), (5, 4), (3, 2), (2, 1)]  # never simple


def test_area_orders_networks_by_speed_without_censoring():
    curves = {(0, 0): FAST, (0, 1): FAST, (1, 0): SLOW, (1, 1): SLOW, (2, 0): NEVER, (2, 1): NEVER}
    area = readings.simplification_area(table(curves)).set_index("seed")["area"]
    assert area[0] == 0 and area[1] == pytest.approx(2 / 3)
    assert 0 < area[2] < 1 and np.isfinite(area[2])  # never simple: large, not missing
    assert area[0] < area[2]


def test_area_averages_classes_within_the_network_and_reads_given_depths():
    area = readings.simplification_area(table({(0, 0): FAST, (0, 1): SLOW}))
    assert len(area) == 1 and area["area"].iloc[0] == pytest.approx((0 + 2 / 3) / 2)
    only_last = pd.DataFrame({"problem": ["D-II"], "architecture": ["9×25"], "depth": [3]})
    area = readings.simplification_area(table({(0, 0): FAST, (0, 1): SLOW}), depths=only_last)
    assert area["area"].iloc[0] == 0 and area["layers"].iloc[0] == 1


def test_end_reduction_parts():
    ends = readings.end_reduction(table({(0, 0): FAST, (0, 1): NEVER})).iloc[0]
    assert ends["components"] == pytest.approx((1 + (9 - 2) / 8) / 2)
    assert ends["holes"] == pytest.approx((1 + (9 - 1) / 9) / 2)
    assert not ends["simple"]
    assert readings.end_reduction(table({(0, 0): SLOW}))["simple"].iloc[0]


def test_excess_is_one_at_the_input_and_nan_when_the_input_is_simple():
    shares = readings.excess(table({(0, 0): NEVER, (0, 1): [(1, 0), (1, 0)]}))
    assert (shares.loc[shares["depth"] == 0].set_index("label")["share"].fillna(-1) == [1, -1]).all()


def test_k_window_finds_the_longest_run_and_its_middle():
    from tdnn_utils.topology import betti_numbers_at_ks

    angle = np.linspace(0, 2 * np.pi, 300, endpoint=False)
    circle = np.c_[np.cos(angle), np.sin(angle)] * (1 + 0.02 * np.sin(7 * angle))[:, None]
    window, chosen, calibration = readings.k_window({0: circle}, {0: (1, 1)}, range(1, 60), scale=2.5, maxdim=1)
    right = [k for k in range(1, 60) if betti_numbers_at_ks(circle, 2.5, [k])[k].tolist() == [1, 1]]
    assert window[0] in right and window[1] in right and window[0] <= chosen <= window[1]
    assert all(k in right for k in range(window[0], window[1] + 1))
    assert chosen == (window[0] + window[1]) // 2
    assert calibration["correct"].sum() == len(right)
    assert readings.k_window({0: circle}, {0: (5, 5)}, [2, 3], scale=2.5, maxdim=1)[:2] == (None, None)
    with pytest.raises(ValueError, match="increasing"):
        readings.k_window({0: circle}, {0: (1, 1)}, [5, 3], scale=2.5, maxdim=1)


def test_long_table_has_the_files_columns():
    betti = table({(0, 0): FAST, (0, 1): SLOW})
    long = readings.long_table(betti, points={("D-II", 0): 5625, ("D-II", 1): 5625})
    assert list(long.columns) == readings.FILE_COLUMNS
    assert len(long) == 2 * 4 and long["b2"].isna().all() and (long["points"] == 5625).all()
    assert long.loc[(long["depth"] == 0) & (long["label"] == 0), ["b0", "b1"]].values.tolist() == [[9, 9]]


def test_book_readings_come_back_from_a_folder_or_a_server(tmp_path):
    import http.server
    import threading

    long = readings.long_table(table({(0, 0): FAST, (0, 1): SLOW}), points={("D-II", 0): 5, ("D-II", 1): 5})
    long.to_csv(tmp_path / "02_betti.csv", index=False)
    back = readings.tidy(readings.book_readings("02", folder=tmp_path))
    original = table({(0, 0): FAST, (0, 1): SLOW})
    merged = back.merge(original, on=["problem", "architecture", "activation", "seed", "layer", "depth", "label",
                                      "k", "dim"], suffixes=("", "_original"))
    assert len(merged) == len(original) == len(back) and (merged["betti"] == merged["betti_original"]).all()

    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        served = readings.book_readings("02", folder=tmp_path / "none",
                                        url=f"http://127.0.0.1:{server.server_address[1]}")
        assert served.equals(pd.read_csv(tmp_path / "02_betti.csv"))
        with pytest.raises(FileNotFoundError, match="neither in"):
            readings.book_readings("01", folder=tmp_path / "none", url=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
    with pytest.raises(ValueError, match="two digits"):
        readings.book_readings("2")


def test_the_results_address_follows_the_books_repository():
    from tdnn_utils import chapters

    owner_name = chapters.repository().split("github.com/")[1]
    assert readings.BOOK_RESULTS_URL == (f"https://raw.githubusercontent.com/{owner_name}/"
                                         f"{chapters.branch()}/book/results")
