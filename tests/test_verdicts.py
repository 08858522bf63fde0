"""Verdict rules and the numbers they rest on, on hand-made Betti tables."""

import numpy as np
import pandas as pd
import pytest

from tdnn_utils import verdicts


def table(runs):
    """runs: {(activation, seed): [(b0, b1) per depth]} for label 0 -> tidy Betti table."""
    rows = []
    for (activation, seed), per_depth in runs.items():
        for depth, betti in enumerate(per_depth):
            rows += [{"activation": activation, "seed": seed, "layer": f"l{depth}", "depth": depth,
                      "label": 0, "dim": dim, "betti": b} for dim, b in enumerate(betti)]
    return pd.DataFrame(rows)


RUNS = {
    ("relu", 0): [(9, 0), (3, 0), (1, 0), (1, 0)],       # simple at depth 2
    ("relu", 1): [(9, 0), (1, 0), (1, 0), (1, 0)],       # simple at depth 1
    ("tanh", 0): [(9, 0), (9, 1), (4, 0), (1, 0)],       # simple only at the logits
    ("tanh", 1): [(9, 0), (9, 0), (9, 0), (2, 0)],       # never simple: censored at 4
}


def test_layers_to_simplify_censors_classes_that_never_simplify():
    summary = verdicts.layers_to_simplify(table(RUNS), by=["activation", "seed"])
    assert summary["layers"].tolist() == [2, 1, 3, 4]
    assert summary["censored"].tolist() == [False, False, False, True]
    assert summary["n_layers"].tolist() == [3, 3, 3, 3]
    np.testing.assert_allclose(summary["fraction"], [2 / 3, 1 / 3, 1, 4 / 3])


def test_rank_test_is_one_sided():
    fast, slow = [1, 2, 2, 1, 2, 1, 1, 2], [4, 5, 4, 3, 5, 4, 4, 5]
    assert verdicts.rank_test(fast, slow)["p"] < 0.01
    assert verdicts.rank_test(slow, fast)["p"] > 0.9
    assert verdicts.rank_test([3, 3], [3, 3])["p"] == 1.0
    assert np.isnan(verdicts.rank_test([], [1])["p"])


def test_ordering_verdict_follows_its_rule():
    values = pd.DataFrame({"group": ["a"] * 8 + ["b"] * 8 + ["c"] * 8,
                           "v": [1, 2, 1, 2, 1, 2, 1, 1] + [3, 4, 3, 4, 3, 3, 4, 4] + [6, 7, 6, 7, 6, 6, 7, 6]})
    verdict, tests = verdicts.ordering_verdict(values, "group", "v", ["a", "b", "c"])
    assert verdict == "confirmed" and len(tests) == 2
    assert verdicts.ordering_verdict(values, "group", "v", ["c", "b", "a"])[0] == "not reproduced"
    mixed, _ = verdicts.ordering_verdict(values, "group", "v", ["a", "c", "b"])
    assert mixed == "partly"


def test_simplification_verdict_follows_its_rule():
    def summary(simplified, monotone, reduced):
        return pd.DataFrame({"simplified": simplified, "monotone": monotone,
                             "input_total": [9] * len(simplified),
                             "output_total": [1 if r else 9 for r in reduced]})
    assert verdicts.simplification_verdict(summary([True] * 10, [True] * 10, [True] * 10))[0] == "confirmed"
    verdict, shares = verdicts.simplification_verdict(summary([True] * 5 + [False] * 5, [True] * 10, [True] * 6 + [False] * 4))
    assert verdict == "partly" and shares["simplified"] == 0.5 and shares["reduced"] == 0.6
    assert verdicts.simplification_verdict(summary([False] * 4, [False] * 4, [False] * 4))[0] == "not reproduced"
    assert verdicts.simplification_verdict(summary([], [], []))[0] == "not reproduced"


def test_last_layer_share_measures_abrupt_endings():
    shares = verdicts.last_layer_share(table(RUNS), by=["activation", "seed"])
    # relu 0: 9 -> 3 -> 1 -> 1, no change in the last step; tanh 0: 9 -> 10 -> 4 -> 1, changes
    # 1 + 6 + 3 of which 3 in the last step; tanh 1: 9 -> 9 -> 9 -> 2, all of it in the last step
    assert shares["share"].tolist() == [0.0, 0.0, pytest.approx(3 / 10), 1.0]
    flat = table({("relu", 0): [(1, 0), (1, 0)]})
    assert np.isnan(verdicts.last_layer_share(flat, by=["activation", "seed"])["share"].iloc[0])


def test_untestable_pairs_are_skipped_and_said():
    values = pd.DataFrame({"group": ["b"] * 8 + ["c"] * 8,
                           "v": [3, 4, 3, 4, 3, 3, 4, 4] + [6, 7, 6, 7, 6, 6, 7, 6]})
    verdict, tests = verdicts.ordering_verdict(values, "group", "v", ["a", "b", "c"])
    assert verdict == "partly" and np.isnan(tests["p"].iloc[0])  # the a-b step is untested
    assert "a vs b: not tested (no values for a)" in verdicts.describe_tests(tests)
    assert verdicts.ordering_verdict(values, "group", "v", ["a", "x"])[0] == "not reproduced"


def test_tests_table_keeps_small_p_values_readable():
    values = pd.DataFrame({"group": ["a"] * 30 + ["b"] * 30, "v": list(range(30)) + list(range(100, 130))})
    _, tests = verdicts.ordering_verdict(values, "group", "v", ["a", "b", "c"])
    shown = verdicts.tests_table(tests)
    assert shown["p"].iloc[0].startswith(("1.", "2.", "3.", "4.", "5.", "6.", "7.", "8.", "9.")) and "e-" in shown["p"].iloc[0]
    assert shown["p"].iloc[1] == "not tested"


def test_share_verdict_thresholds():
    assert [verdicts.share_verdict(s) for s in (0.9, 0.8, 0.6, 0.4, float("nan"))] == \
        ["confirmed", "confirmed", "partly", "not reproduced", "not reproduced"]
    assert verdicts.share_verdict(0.9, confirmed=1.0) == "partly"


def test_leave_one_out_beats_the_mean_on_a_linear_target():
    x = np.arange(10.0)
    exact = verdicts.leave_one_out(x, 2 * x + 1)
    assert exact["model"] == pytest.approx(0, abs=1e-9) and exact["mean"] > 1 and exact["networks"] == 10
    noise = verdicts.leave_one_out(np.random.default_rng(0).normal(size=12), np.arange(12.0))
    assert noise["model"] > 0.8 * noise["mean"]
    assert np.isnan(verdicts.leave_one_out([1.0], [2.0])["model"])
