"""Chapter 1's networks (tdnn_utils.tori): the points, the window of k, the tables."""

import numpy as np
import pandas as pd
import pytest

from tdnn_utils import datasets, readings, tori


def test_points_hold_out_a_share_of_each_class_and_read_training_points_only():
    setup = tori.Setup(n_pts=10, copies=1, heldout_share=0.2, measure_points=30)
    data = tori.points(setup)
    X, y = data["all"]
    (X_train, y_train), (X_held, y_held), (X_read, y_read) = data["train"], data["heldout"], data["measure"]
    assert np.bincount(y_held).tolist() == [20, 20] and np.bincount(y_train).tolist() == [80, 80]
    assert len(X_train) + len(X_held) == len(X)
    trained = {tuple(p) for p in X_train.round(6)}
    assert not trained & {tuple(p) for p in X_held.round(6)}  # held-out points are never trained on
    assert np.bincount(y_read).tolist() == [30, 30] and {tuple(p) for p in X_read.round(6)} <= trained
    every = tori.points(tori.Setup(n_pts=10, copies=1, measure_points=0))
    assert len(every["measure"][0]) == len(every["train"][0])
    assert data["truth"] == {0: (1, 2), 1: (1, 2)} and tori.Setup(maxdim=2).truth[0] == (8, 16, 8)


def test_the_draws_are_seeded():
    first, again = (tori.points(tori.Setup(n_pts=8, copies=1, measure_points=20)) for _ in range(2))
    for part in ("train", "measure", "heldout"):
        assert np.array_equal(first[part][0], again[part][0])


@pytest.mark.parametrize("settings, message", [
    ({"heldout_share": 0.0}, "heldout_share"), ({"heldout_share": 1}, "heldout_share"),
    ({"k_min": 9, "k_max": 8}, "k_max"), ({"measure_points": -1}, "measure_points"),
    ({"maxdim": 3}, "maxdim"), ({"copies": 0}, "copies"), ({"trust_seeds": 1.5}, "trust_seeds")])
def test_bad_settings_are_refused_with_the_value(settings, message):
    with pytest.raises(ValueError, match=message):
        tori.Setup(**settings)


def test_problem_reads_every_layer_at_the_window_ends_and_its_middle(monkeypatch):
    setup = tori.Setup(n_pts=12, copies=1, k_min=4, k_max=9, trust_seeds=1)
    calls = {}

    def window(clouds, truth, candidates, *, scale, maxdim, engine=None):
        calls.update(candidates=list(candidates), truth=truth, sizes={c: len(p) for c, p in clouds.items()})
        return (5, 9), 7, pd.DataFrame({"k": [5], "label": [0], "measured": [[1, 2]], "true": [[1, 2]],
                                        "correct": [True]})

    monkeypatch.setattr(readings, "k_window", window)
    problem, table, found = tori.problem(setup)
    assert found == (5, 9) and problem.k == 7 and problem.ks == (5, 7, 9) and problem.k_window == (5, 9)
    assert calls["candidates"] == list(range(4, 10)) and calls["truth"] == {0: (1, 2), 1: (1, 2)}
    assert problem.X_heldout is not None and len(problem.X_heldout) == 2 * round(0.2 * 144)
    assert (table["data"] == tori.NAME).all() and problem.trust_seeds == 1

    monkeypatch.setattr(readings, "k_window", lambda *a, **k: (None, None, pd.DataFrame(
        columns=["k", "label", "measured", "true", "correct"])))
    problem, _, found = tori.problem(setup)
    assert found is None and problem.k == 4 and problem.ks is None


def test_training_table_reads_held_out_accuracy_of_the_networks_at_100_only():
    networks = pd.DataFrame({
        "activation": ["relu"] * 3 + ["tanh"], "seed": [0, 1, 2, 0], "perfect": [True, True, False, True],
        "attempts": [1, 2, 4, 1], "steps": [100, 300, 800, 50], "heldout_accuracy": [0.99, 0.97, 0.5, 1.0],
        "train_seconds": [60, 60, 60, 30], "topology_seconds": [6, 6, 0, 6]})
    table = tori.training_table(networks, steps_per_epoch=10).set_index("activation")
    assert table.loc["relu", "perfect"] == 2 and table.loc["relu", "attempts"] == 7
    assert table.loc["relu", "heldout"] == pytest.approx(0.98) and table.loc["relu", "heldout_min"] == 0.97
    assert table.loc["relu", "median_epochs"] == 30 and table.loc["relu", "train_minutes"] == 3


def test_exactly_simple_counts_networks_ending_at_one_piece_without_holes():
    ends = pd.DataFrame({"activation": ["relu"] * 4 + ["tanh"] * 2, "simple": [True, True, True, False, False, False]})
    table = tori.exactly_simple(ends).set_index("activation")
    assert table.loc["relu", ["simple", "networks"]].tolist() == [3, 4] and table.loc["relu", "share"] == 0.75
    assert table.loc["tanh", "low"] == 0 and 0 < table.loc["tanh", "high"] < 1


def test_the_tori_betti_numbers_follow_the_copies():
    assert datasets.entangled_tori_betti(2) == datasets.ENTANGLED_TORI_BETTI
    assert datasets.entangled_tori_betti(3)[1] == (27, 54, 27)
    with pytest.raises(ValueError, match="m="):
        datasets.entangled_tori_betti(0)


def test_train_reads_every_network_at_the_three_k_with_held_out_accuracy(one_thread):
    setup = tori.Setup(n_pts=8, copies=1, k_min=3, k_max=6, trust_seeds=1)
    problem, _, _ = tori.problem(setup)
    problem = type(problem)(**{**problem.__dict__, "k": 4, "ks": (3, 4, 5), "k_window": (3, 5)})
    swept = tori.train(problem, ["relu", "tanh"], 2, [8, 8], epochs=300, batch_size=64, lr={"relu": 0.02, "tanh": 0.02},
                       lr_halving_epochs=100, max_attempts=1)
    assert swept.networks["activation"].tolist() == ["relu", "relu", "tanh", "tanh"]
    assert swept.networks["heldout_accuracy"].between(0, 1).all()
    perfect = swept.networks[swept.networks["perfect"]]
    assert len(perfect), "no network reached 100% on 100 points in 300 epochs"
    read = swept.betti.groupby(["activation", "seed"])["k"].agg(lambda k: sorted(set(k)))
    assert all(ks == [3, 4, 5] for ks in read) and len(read) == len(perfect)
    checked = swept.trust.groupby(["activation", "seed"]).size()
    assert set(checked.index.get_level_values("seed")) <= {0} and len(checked) == int((perfect["seed"] == 0).sum())


def test_tutorial_networks_read_the_tutorials_way(one_thread):
    X, y = datasets.entangled_tori(n_pts=6, m=1)
    models, runs, betti = tori.tutorial_networks(X, y, ["relu", "sigmoid"], 2, epochs=1, points=40, threshold=0.5)
    assert sorted(models) == [("relu", 0), ("relu", 1), ("sigmoid", 0), ("sigmoid", 1)]
    assert runs["all_points_accuracy"].between(0, 1).all() and len(runs) == 4
    assert sorted(betti["depth"].unique()) == [0, 1, 2, 3, 4] and set(betti["label"]) == {0}
    assert betti.groupby(["activation", "seed"]).ngroups == 4


def _curves(ends_simple: dict, depths: int = 4) -> pd.DataFrame:
    """A Betti table: per (activation, seed), two classes from (8, 16) at the input to (1, 0) or (2, 8)."""
    rows = []
    for (activation, seed), simple in ends_simple.items():
        for label in (0, 1):
            for depth in range(depths):
                betti = (8, 16) if depth == 0 else (1, 0) if simple else (2, 8)
                rows += [{"problem": tori.NAME, "architecture": "5×25", "activation": activation, "seed": seed,
                          "layer": f"l{depth}", "depth": depth, "label": label, "k": 16, "dim": d, "betti": b}
                         for d, b in enumerate(betti)]
    return pd.DataFrame(rows)


def test_claim_rows_judge_chapter_2s_claim_as_chapter_1s():
    kept = _curves({("relu", s): True for s in range(4)} | {("tanh", s): False for s in range(4)})
    rows = tori.claim_rows(kept)
    assert [r["comparison"] for r in rows] == [f"{tori.NAME} {a}: {p}" for a in ("relu", "tanh")
                                               for p in ("components", "holes")]
    assert {r["claim"] for r in rows} == {tori.CLAIM} and {r["family"] for r in rows} == {tori.FAMILY}
    relu = [r for r in rows if " relu:" in r["comparison"]]
    assert all(r["effect"] == 1.0 for r in relu)
    tanh = {r["comparison"].split(": ")[1]: r["effect"] for r in rows if " tanh:" in r["comparison"]}
    assert tanh == {"components": pytest.approx(6 / 7), "holes": pytest.approx(0.5)}


def test_claim_rows_are_untestable_where_only_the_input_is_read():
    kept = _curves({("relu", s): True for s in range(3)} | {("sigmoid", s): True for s in range(3)})
    kept = kept[(kept["activation"] == "relu") | (kept["depth"] == 0)]
    rows = {r["comparison"]: r for r in tori.claim_rows(kept)}
    sigmoid = [r for name, r in rows.items() if "sigmoid" in name]
    assert len(sigmoid) == 2 and all(r["reason"] == tori.NOTHING_READABLE for r in sigmoid)
    assert rows[f"{tori.NAME} relu: holes"]["effect"] == 1.0


def test_the_committed_file_reads_back_as_the_readings(tmp_path):
    betti = _curves({("relu", 0): True, ("tanh", 1): False})
    path = tmp_path / "01_betti.csv"
    readings.long_table(betti, points={(tori.NAME, 0): 100, (tori.NAME, 1): 100}).to_csv(path, index=False)
    back = readings.tidy(pd.read_csv(path))
    keys = ["problem", "architecture", "activation", "seed", "layer", "depth", "label", "k", "dim"]
    pd.testing.assert_frame_equal(back[keys + ["betti"]].sort_values(keys, ignore_index=True),
                                  betti[keys + ["betti"]].sort_values(keys, ignore_index=True), check_dtype=False)
    empty = readings.long_table(betti.iloc[:0])  # no network at 100%: a file with its columns only
    assert list(empty.columns) == readings.FILE_COLUMNS and readings.tidy(empty).empty


def test_passing_by_dimension_says_which_betti_number_fails():
    base = {"depth": 1, "layer": "hidden_1", "label": 0, "width": 25, "distinct": 100}
    checks = pd.DataFrame([
        {**base, "betti": [1, 10], "betti_k_low": [1, 30], "betti_k_high": [1, 9], "betti_cross": [1, 11]},
        {**base, "betti": [1, 10], "betti_k_low": [2, 12], "betti_k_high": [1, 8], "betti_cross": [1, 14]},
        {**base, "width": 1, "betti": [3, 1], "betti_k_low": [3, 1], "betti_k_high": [3, 1], "betti_cross": [3, 1]}])
    table = tori.passing_by_dimension(checks).set_index("dim")
    assert table.loc[0, "passing"] == 1  # 1 and 2 pieces are within one of each other
    assert table.loc[1, "passing"] == pytest.approx(1 / 3)  # 30 loops at k_low; a loop in one dimension
    assert tori.passing_by_dimension(checks.iloc[:0]).empty
