"""Chapter 2's study: the setup's points and window, its claims' comparisons, the k-robust verdicts."""

import numpy as np
import pandas as pd
import pytest

from tdnn_utils import simplification, verdicts
from tdnn_utils.simplification import Setup


def table(curves_by_network, k=10, problem="D-II", architecture="9×25"):
    """{(activation, seed): {label: [(b0, b1) per depth]}} -> a sweep's Betti table."""
    rows = []
    for (activation, seed), classes in curves_by_network.items():
        for label, curve in classes.items():
            for depth, betti in enumerate(curve):
                rows += [{"problem": problem, "architecture": architecture, "activation": activation,
                          "seed": seed, "layer": f"l{depth}", "depth": depth, "label": label, "k": k,
                          "dim": dim, "betti": b} for dim, b in enumerate(betti)]
    return pd.DataFrame(rows)


def curve(speed, rng):
    """A D-II-like class that is simple after ``speed`` of 5 hidden layers (a little noise)."""
    out = [(9, 9)]
    for depth in range(1, 7):
        left = max(0.0, 1 - depth / speed)
        out.append((1 + round(8 * left + rng.integers(0, 2)), round(9 * left)))
    out[-1] = (1, 0)
    return out


@pytest.fixture(scope="module")
def networks():
    rng = np.random.default_rng(0)
    speeds = {"relu": 2, "leaky_relu": 4, "tanh": 7}
    return table({(activation, seed): {label: curve(speed, rng) for label in (0, 1)}
                  for activation, speed in speeds.items() for seed in range(12)})


def test_claim_simplifies_reads_both_parts_per_configuration(networks):
    rows = simplification.claim_simplifies(networks)
    names = [row["comparison"] for row in rows]
    assert names[:2] == ["D-II relu: components", "D-II relu: holes"] and len(rows) == 6
    assert all(row["effect"] == 1.0 for row in rows)  # every class ends at (1, 0)
    table, found = verdicts.chapter_verdicts(rows)
    assert found == {"C1": "confirmed"}


def test_activation_order_is_judged_on_the_area(networks):
    from tdnn_utils import readings

    area = readings.simplification_area(networks)
    rows = simplification.claim_activation_order(area)
    assert [row["comparison"] for row in rows] == ["D-II: relu < leaky_relu", "D-II: leaky_relu < tanh"]
    assert all(row["effect"] > simplification.CLAIMS["C2"]["delta"] for row in rows)
    assert verdicts.chapter_verdicts(rows)[1]["C2"] == "confirmed"


def test_real_data_without_a_trusted_layer_is_untestable(networks):
    none = pd.DataFrame({"problem": "D-II", "architecture": "9×25", "depth": range(1, 7), "trusted": False})
    rows = simplification.claim_real_data(simplification.readable(networks, none))
    assert {row["reason"] for row in rows} == {
        "no layer after the input passed the metric's checks: nothing the networks did can be read"}
    assert verdicts.chapter_verdicts(rows)[1]["C5"] == "untestable"
    every = none.assign(trusted=True)
    found = verdicts.chapter_verdicts(simplification.claim_real_data(simplification.readable(networks, every)))
    assert found[1]["C5"] == "confirmed"  # ReLU simple by layer 2 here; tanh much slower
    not_six = none.assign(trusted=none["depth"] != 6)
    rows = simplification.claim_real_data(simplification.readable(networks, not_six))
    assert rows[0]["reason"] == "layer 6 did not pass the metric's checks"


def test_a_verdict_that_moves_across_the_window_is_inconclusive(networks):
    from tdnn_utils import readings

    same = simplification.claim_activation_order(readings.simplification_area(networks))
    flat = networks.copy()
    flat.loc[flat["depth"] > 0, "betti"] = flat.loc[flat["depth"] > 0, "dim"].map({0: 5, 1: 5})
    moved = simplification.claim_activation_order(readings.simplification_area(flat))
    _, found, robustness = simplification.judge_across_window({"low": same, "chosen": same, "high": same})
    assert found == {"C2": "confirmed"} and robustness["stands"].all()
    _, found, robustness = simplification.judge_across_window({"low": moved, "chosen": same, "high": same})
    assert found == {"C2": "inconclusive"} and not robustness["stands"].any()
    assert robustness.loc[0, "low"] != robustness.loc[0, "chosen"] == "confirmed"


def test_at_role_picks_each_problems_k():
    betti = pd.concat([table({("relu", 0): {0: [(9, 9), (1, 0)]}}, k=k) for k in (12, 23, 34)])
    problems = {"D-II": type("P", (), {"k": 23, "k_window": (12, 34)})()}
    roles = simplification.k_roles(problems)
    assert roles.set_index("role")["k"].to_dict() == {"low": 12, "chosen": 23, "high": 34}
    assert len(simplification.at_role(betti, roles, "high")) == len(betti) // 3
    assert "k" not in simplification.at_role(betti, roles, "low").columns


def test_setup_refuses_a_scan_of_k_that_is_empty():
    with pytest.raises(ValueError, match="k_max=30 must be at least k_min=34"):
        Setup("D-II", k_min=34, k_max=30)
    with pytest.raises(ValueError, match="k_min=0"):
        Setup("D-II", k_min=0)
    assert list(Setup("D-II", k_min=3, k_max=5).k_candidates) == [3, 4, 5]


def test_points_hold_out_what_is_not_trained_on():
    points = simplification.points(Setup("D-I", source="generator", measure_every=3))
    (X_train, _), (X_measure, _), (X_held, _) = points["train"], points["measure"], points["heldout"]
    assert len(X_train) == 7_800 and len(X_measure) == 2_600 and len(X_held) == 2_250
    seen = {tuple(x) for x in X_train}
    assert not any(tuple(x) in seen for x in X_held)


def test_comparisons_assemble_every_claim_of_a_design(networks):
    d1 = table({(act, seed): {0: [(9, 0), (5 + seed % 3, 0), (2, 0), (1, 0)], 1: [(1, 9), (1, 5), (1, 2 + seed % 2), (1, 0)]}
                for act in ("relu", "leaky_relu", "tanh") for seed in range(6)}, problem="D-I", architecture="9×15")
    shallow = table({("leaky_relu", seed): {0: [(9, 0), (9 - seed % 2, 0), (1, 0)], 1: [(1, 9), (1, 9), (1, 0)]}
                     for seed in range(6)}, problem="D-I", architecture="2×15")
    design = simplification.Design(main={"D-I": "9×15", "D-II": "9×25"}, depth_architectures=("2×15", "9×15"),
                                   base="9×15")
    rows = simplification.comparisons(pd.concat([networks, d1, shallow]), None, design)
    claims = [row["claim"] for row in rows]
    assert claims.count("C1") == 2 * 2 * 3 and claims.count("C2") == 2 * 2 * 2 and claims.count("C3") == 1
    depth = [row for row in rows if row["claim"] == "C3"][0]
    assert depth["comparison"] == "9×15 < 2×15" and depth["effect"] > 0  # deep spreads, shallow is abrupt


def test_claim_one_needs_one_of_the_last_two_layers_read(networks):
    with_layers = networks.assign(n_layers=networks["depth"].max())
    early = with_layers[with_layers["depth"] <= 3]  # what the checks left: input and layers 1-3 of 6
    rows = simplification.claim_simplifies(early)
    assert {row["reason"] for row in rows} == {"neither of its last two layers passed the metric's checks"}
    late = with_layers[with_layers["depth"] != 6]  # the logits dropped, layer 5 kept
    assert all(row["reason"] == "" for row in simplification.claim_simplifies(late))


def test_comparisons_read_each_claims_trusted_layers(networks):
    table = networks.assign(n_layers=networks["depth"].max())
    trust_table = pd.DataFrame([{"problem": "D-II", "architecture": "9×25", "activation": a, "depth": d,
                                 "trusted": not (a == "tanh" and d in (2, 3))}
                                for a in ("relu", "leaky_relu", "tanh") for d in range(1, 7)])
    design = simplification.Design(main={"D-II": "9×25"})
    rows = simplification.comparisons(table, trust_table, design)
    c2 = [row for row in rows if row["claim"] == "C2"]
    assert len(c2) == 2 * 2 and all(np.isfinite(row["effect"]) for row in c2)
    assert [row["comparison"] for row in c2][:2] == ["D-II: relu < leaky_relu (components)",
                                                    "D-II: leaky_relu < tanh (components)"]
    # claim 2 reads the layers trusted for every activation (2 and 3 dropped for all): relu's area there
    from tdnn_utils import readings, trust
    common = trust.trusted_only(table, trust.common_trust(trust_table, ("problem", "architecture")),
                                by=("problem", "architecture"))
    assert set(common["depth"]) == {0, 1, 4, 5, 6}
    assert readings.simplification_area(common)["layers"].eq(4).all()


def test_claim_three_names_why_no_network_is_read():
    rows = simplification.claim_depth_unread(("3×15", "5×15", "7×15"))
    assert [r["comparison"] for r in rows] == ["5×15 < 3×15", "7×15 < 5×15"]
    assert all(r["claim"] == "C3" and r["reason"] == simplification.DEPTH_UNREAD for r in rows)
    table, found = verdicts.chapter_verdicts(rows)
    assert found == {"C3": "untestable"} and (table["status"] == "untestable").all()


def test_training_summary_says_each_configuration_in_seven_columns():
    trained = pd.DataFrame({"problem": ["D-II"], "architecture": ["9×25"], "activation": ["relu"], "networks": [32],
                            "perfect": [30], "attempts": [41], "median_steps": [2000.0], "heldout": [0.9962],
                            "heldout_min": [float("nan")], "train_minutes": [24.06], "topology_minutes": [10.0]})
    summary = simplification.training_summary(trained)
    assert list(summary.iloc[0]) == ["D-II", "9×25", "relu", "30 of 32", 41, "99.6% (n/a)", "24.1 + 10.0"]


def test_describe_attempts_names_the_successes_a_rule_cut():
    attempts = pd.DataFrame({"ended": ["perfect", "rule", "rule"]})
    check = {"would_have_reached_100": 1, "ended_by_rule": 2, "preset": "book", "steps_saved": 5000,
             "replays": [{"problem": "D-II", "activation": "relu", "seed": 7, "replay_perfect": True},
                         {"problem": "D-II", "activation": "tanh", "seed": 3, "replay_perfect": False}]}
    text = simplification.describe_attempts(attempts, check)
    assert "1 of the 2 attempts" in text and "D-II relu seed 7" in text and "tanh seed 3" not in text
    assert "bit for bit" not in text


def test_real_data_whose_input_is_already_one_piece_is_untestable_for_components(networks):
    one_piece = networks.copy()
    one_piece.loc[(one_piece["depth"] == 0) & (one_piece["dim"] == 0), "betti"] = 1
    rows = simplification.claim_real_data(one_piece, part="components")
    assert all(row["reason"].startswith("the input already reads as simple in its components") for row in rows)
    rows = simplification.claim_real_data(one_piece, part="holes")  # the holes are there to remove
    assert all(row["reason"] == "" for row in rows)


def test_key_result_says_what_claim_one_found_for_each_part():
    judged = pd.DataFrame({"claim": ["C1", "C1", "C1", "C2"],
                           "comparison": ["D-I relu: components", "D-I relu: holes", "D-II relu: holes", "x"],
                           "status": ["confirmed", "untestable", "untestable", "partly"]})
    ends = pd.DataFrame({"components": [1.0, 0.9]})
    text = simplification.key_result(judged, {"C1": "partly", "C2": "partly"}, ends)
    assert "merge 95% of their classes' extra components" in text and "2 networks" in text
    assert "components 1 confirmed; holes 2 untestable" in text and "claim 2 **partly**" in text
    assert text.startswith(":::{admonition} Key result") and text.endswith(":::")


def test_pilot_counts_read_the_committed_pilot(tmp_path):
    records = [{"problem": "D-III", "lr": 0.005, "reached_perfect": ok} for ok in (True, False, False)]
    records.append({"problem": "D-II", "lr": 0.02, "reached_perfect": True})
    (tmp_path / "pilot.json").write_text(__import__("json").dumps(records))
    counts = simplification.pilot_counts(tmp_path / "pilot.json")
    assert counts == {"attempts": 4, "D-III": {"lr": 0.005, "attempts": 3, "perfect": 1},
                      "D-II": {"lr": 0.02, "attempts": 1, "perfect": 1}}
    assert simplification.pilot_counts(tmp_path / "missing.json") is None
