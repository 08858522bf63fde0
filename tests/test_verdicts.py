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


def test_last_layer_share_measures_abrupt_endings():
    shares = verdicts.last_layer_share(table(RUNS), by=["activation", "seed"])
    # relu 0: 9 -> 3 -> 1 -> 1, no change in the last step; tanh 0: 9 -> 10 -> 4 -> 1, changes
    # 1 + 6 + 3 of which 3 in the last step; tanh 1: 9 -> 9 -> 9 -> 2, all of it in the last step
    assert shares["share"].tolist() == [0.0, 0.0, pytest.approx(3 / 10), 1.0]
    flat = table({("relu", 0): [(1, 0), (1, 0)]})
    assert np.isnan(verdicts.last_layer_share(flat, by=["activation", "seed"])["share"].iloc[0])


# ---------------------------------------------------------------------------- the book's rules
def groups(**samples):
    return pd.DataFrame([{"group": name, "v": float(x), "censored": False}
                         for name, values in samples.items() for x in values])


def test_per_network_averages_the_classes_of_each_network():
    rows = pd.DataFrame({"seed": [0, 0, 1, 1], "label": [0, 1, 0, 1], "layers": [2, 4, 3, 5],
                         "censored": [False, True, True, True]})
    net = verdicts.per_network(rows, ["seed"], "layers")
    assert net["layers"].tolist() == [3.0, 4.0] and net["parts"].tolist() == [2, 2]
    assert net["censored"].tolist() == [False, True]
    with pytest.raises(ValueError, match="lacks columns"):
        verdicts.per_network(rows, ["activation"], "layers")


@pytest.mark.parametrize("successes, n, verdict", [
    (0, 0, "untestable"), (30, 30, "confirmed"), (2, 30, "not reproduced"),
    (22, 30, "partly"), (2, 3, "inconclusive"),
])
def test_share_claim_categories(successes, n, verdict):
    got, facts = verdicts.share_claim(successes, n)
    assert got == verdict
    if n:
        assert facts["low"] <= successes / n <= facts["high"]


def test_every_share_verdict_reads_as_a_status_and_joins_a_claim():
    assert set(verdicts.SHARE_STATUS) == set(verdicts.VERDICTS)
    assert set(verdicts.SHARE_STATUS.values()) <= set(verdicts.STATUSES)
    share, _ = verdicts.share_claim(30, 30)
    assert verdicts.claim_verdict([verdicts.SHARE_STATUS[share], "supports"]) == "confirmed"
    share, _ = verdicts.share_claim(22, 30)  # partly: above the bar, not clearly
    assert verdicts.claim_verdict([verdicts.SHARE_STATUS[share], "supports"]) == "partly"


def test_wilson_interval_matches_a_known_value():
    low, high = verdicts.wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)


def test_minimum_detectable_shift_shrinks_with_more_networks():
    rng = np.random.default_rng(0)
    small = verdicts.minimum_detectable_shift(rng.normal(size=5), rng.normal(size=5))
    large = verdicts.minimum_detectable_shift(rng.normal(size=60), rng.normal(size=60))
    assert large < small
    assert 0.3 < large < 1.2  # about 2.5 sd / sqrt(30) for a rank test at 80% power
    assert verdicts.minimum_detectable_shift([], [1.0]) == np.inf


def test_minimum_detectable_paired_follows_the_t_formula():
    differences = np.array([1.0, -1.0] * 10)
    expected = (2.093 * 0 + 1.729 + 0.861) * differences.std(ddof=1) / np.sqrt(20)
    assert verdicts.minimum_detectable_paired(differences) == pytest.approx(expected, rel=0.01)
    assert verdicts.minimum_detectable_paired([1.0]) == np.inf


@pytest.mark.parametrize("p, p_reverse, detectable, status", [
    (0.01, 0.99, 9.0, "supports"), (0.9, 0.01, 9.0, "contradicts"),
    (0.4, 0.6, 0.5, "no effect"), (0.4, 0.6, 3.0, "inconclusive"),
    (np.nan, np.nan, np.nan, "untestable"),
])
def test_comparison_status(p, p_reverse, detectable, status):
    assert verdicts.comparison_status(p, p_reverse, detectable, interest=1.0) == status


@pytest.mark.parametrize("statuses, verdict", [
    (["supports", "supports"], "confirmed"),
    (["supports", "untestable"], "partly"),
    (["supports", "contradicts"], "partly"),
    (["no effect", "inconclusive"], "not reproduced"),
    (["contradicts"], "not reproduced"),
    (["inconclusive", "untestable"], "inconclusive"),
    (["untestable", "untestable"], "untestable"),
    ([], "untestable"),
])
def test_claim_verdict(statuses, verdict):
    assert verdicts.claim_verdict(statuses) == verdict


def test_ordering_claim_statuses():
    rng = np.random.default_rng(1)
    clear = groups(a=rng.integers(1, 4, 30), b=rng.integers(5, 9, 30))
    verdict, table = verdicts.ordering_claim(clear, "group", "v", [("a", "b")], interest=1)
    assert verdict == "confirmed" and table["status"].tolist() == ["supports"]
    verdict, table = verdicts.ordering_claim(clear, "group", "v", [("b", "a")], interest=1)
    assert verdict == "not reproduced" and table["status"].tolist() == ["contradicts"]
    same = groups(a=rng.normal(size=200), b=rng.normal(size=200))
    verdict, table = verdicts.ordering_claim(same, "group", "v", [("a", "b")], interest=1)
    assert table["status"].tolist() == ["no effect"] and table["detectable"].iloc[0] < 1
    few = groups(a=[1, 3, 2], b=[2, 3, 1])
    verdict, table = verdicts.ordering_claim(few, "group", "v", [("a", "b")], interest=1)
    assert verdict == "inconclusive" and table["detectable"].iloc[0] > 1


def test_ordering_claim_untestable_when_a_group_is_empty_or_all_censored():
    values = groups(a=[10, 10, 10], b=[10, 10, 10])
    values["censored"] = True
    verdict, table = verdicts.ordering_claim(values, "group", "v", [("a", "b"), ("a", "c")], interest=1,
                                             censored="censored", cap=10)
    assert verdict == "untestable"
    assert table["reason"].tolist() == ["every network of both groups is censored", "no network for c"]
    assert "untestable (no network for c)" in verdicts.describe_comparisons(table)


def test_ordering_claim_corrects_within_the_claim():
    rng = np.random.default_rng(2)
    # each comparison alone is just significant; two of them together are not, after Holm
    a, b = np.r_[np.zeros(9), 1.0], np.r_[np.zeros(5), np.ones(5)]
    single = groups(a=a, b=b)
    _, alone = verdicts.ordering_claim(single, "group", "v", [("a", "b")], interest=0.5)
    assert alone["p"].iloc[0] < 0.05
    double = pd.concat([single.assign(data="x"), single.assign(data="y")])
    _, both = verdicts.ordering_claim(double, "group", "v", [("x", "a", "b"), ("y", "a", "b")],
                                      interest=0.5, family="data")
    assert (both["p_holm"] > both["p"]).all() and (both["p_holm"] >= 0.05).all()
    assert both["family"].tolist() == ["x", "y"]


def test_paired_claim_statuses_and_holm():
    rng = np.random.default_rng(0)
    clear = rng.normal(1.0, 0.2, size=10)
    verdict, table = verdicts.paired_claim({"up": (clear, None)}, interest=0.5)
    assert verdict == "confirmed" and table["status"].tolist() == ["supports"]
    verdict, table = verdicts.paired_claim({"down": (-clear, None)}, interest=0.5)
    assert verdict == "not reproduced" and table["status"].tolist() == ["contradicts"]
    # tight differences around 0: the design detects far less than the interest -> no effect
    verdict, table = verdicts.paired_claim({"flat": (rng.normal(0, 0.01, 10), None)}, interest=0.5)
    assert verdict == "not reproduced" and table["status"].tolist() == ["no effect"]
    assert table["detectable"].iloc[0] < 0.5
    # noisy and few: inconclusive
    verdict, table = verdicts.paired_claim({"noisy": (rng.normal(0, 3, 3), None)}, interest=0.5)
    assert verdict == "inconclusive" and table["status"].tolist() == ["inconclusive"]
    # Holm within the claim: two comparisons double the smaller p-value
    one = rng.normal(0.3, 0.5, 12)
    _, alone = verdicts.paired_claim({"a": (one, None)}, interest=0.1)
    _, pair = verdicts.paired_claim({"a": (one, None), "b": (clear, None)}, interest=0.1)
    assert pair.set_index("comparison").loc["a", "p_holm"] >= alone["p_holm"].iloc[0]
    assert pair["detectable"].iloc[0] > alone["detectable"].iloc[0]  # stricter level, less sensitive


def test_paired_claim_untestable_with_a_reason_or_too_few_pairs():
    verdict, table = verdicts.paired_claim({"memorised": ([1.0, 2.0], "no network memorised"),
                                            "single": ([1.0], None)}, interest=0.1)
    assert verdict == "untestable"
    assert table["reason"].tolist() == ["no network memorised", "1 pair(s), fewer than 2"]
    verdict, table = verdicts.paired_claim({"ok": ([1.0, 1.2, 0.9, 1.1], None),
                                            "missing": ([], "no network memorised")},
                                           interest={"ok": 0.1, "missing": 0.1})
    assert verdict == "partly" and table["status"].tolist() == ["supports", "untestable"]
    text = verdicts.describe_paired(table)
    assert "untestable (no network memorised)" in text and "Holm p" in text


def test_paired_claim_constant_differences():
    verdict, table = verdicts.paired_claim({"zero": ([0.0] * 5, None)}, interest=0.1)
    assert table["p"].iloc[0] == 1.0 and table["status"].iloc[0] == "no effect"
    verdict, table = verdicts.paired_claim({"shift": ([0.2] * 5, None)}, interest=0.1)
    assert table["status"].iloc[0] == "supports"


def test_paired_claim_statuses_holm_and_sensitivity():
    rng = np.random.default_rng(0)
    differences = {
        "helps": 0.02 + 0.005 * rng.normal(size=20),      # clear gain
        "nothing": 0.002 * rng.normal(size=20),           # precise zero
        "noisy": 0.05 * rng.normal(size=4),               # too few, too noisy to tell
        "hurts": -0.03 + 0.005 * rng.normal(size=20),     # clear loss
        "one seed": [0.5],                                # untestable
    }
    verdict, table = verdicts.paired_claim(differences, interest=0.01)
    status = dict(zip(table["comparison"], table["status"]))
    assert status == {"helps": "supports", "nothing": "no effect", "noisy": "inconclusive",
                      "hurts": "contradicts", "one seed": "untestable"}
    assert verdict == "partly"
    row = table.set_index("comparison").loc["helps"]
    assert row["wins"] == 20 and row["n"] == 20 and row["p_holm"] >= row["p"]
    # the smallest detectable difference is taken at the strictest Holm level (alpha / 4 testable)
    assert row["detectable"] == pytest.approx(
        verdicts.minimum_detectable_paired(differences["helps"], alpha=verdicts.ALPHA / 4))
    assert verdicts.paired_claim({"a": differences["helps"]}, interest=0.01)[0] == "confirmed"
    assert verdicts.paired_claim({"a": differences["nothing"]}, interest=0.01)[0] == "not reproduced"
    assert verdicts.paired_claim({"a": [0.5]}, interest=0.01)[0] == "untestable"


def test_paired_claim_constant_differences_given_as_plain_lists():
    _, table = verdicts.paired_claim({"zero": [0.0, 0.0, 0.0], "up": [0.1, 0.1], "down": [-0.1, -0.1]},
                                     interest=0.01)
    assert table["status"].tolist() == ["no effect", "supports", "contradicts"]


# ---------------------------------------------------------------------------- the size rules
def judged(rows, family="chapter"):
    """rows: {(claim, comparison): effect row} -> verdicts.chapter_verdicts of one family."""
    return verdicts.chapter_verdicts([{"family": family, "claim": claim, "comparison": comparison, **row}
                                      for (claim, comparison), row in rows.items()])


def around(mean, sd=0.1, n=20, seed=0):
    """n differences with exactly this mean and standard deviation."""
    x = np.random.default_rng(seed).normal(size=n)
    return mean + sd * (x - x.mean()) / x.std(ddof=1)


@pytest.mark.parametrize("mean, status", [
    (0.5, "confirmed"),        # interval about 0.46-0.54: clears delta 0.3
    (0.3, "direction only"),   # interval about 0.26-0.34: above 0, straddles delta
    (0.1, "not reproduced"),   # interval about 0.06-0.14: wholly below delta
    (-0.1, "not reproduced"),  # below delta and below 0: reversed
])
def test_an_effect_above_straddling_or_below_delta(mean, status):
    row = verdicts.paired_effect(around(mean), delta=0.3)
    assert row["low"] < row["effect"] < row["high"] and row["effect"] == pytest.approx(mean)
    table, claims = judged({("c", "x"): row})
    assert table["status"].tolist() == [status] and claims == {"c": status}
    assert table["reversed"].tolist() == [mean < 0]
    # the interval's ends are the one-sided tests at ALPHA: alone, lower end above delta <=> p < ALPHA
    assert (row["low"] > 0.3) == (row["p_size"] < verdicts.ALPHA)
    assert (row["high"] < 0.3) == (row["p_short"] < verdicts.ALPHA)


def test_an_interval_holding_zero_and_delta_is_inconclusive():
    row = verdicts.paired_effect(around(0.15, sd=1.0, n=6), delta=0.3)
    assert row["low"] < 0 < 0.3 < row["high"]
    table, claims = judged({("c", "noisy"): row})
    assert claims == {"c": "inconclusive"}
    assert "neither above 0 nor below δ" in verdicts.describe(table)


def test_a_saturated_statistic_is_untestable_with_the_reason():
    # every network of both groups censored at the cap: no shift within the range can show
    row = verdicts.shift_effect([11, 11, 11, 11], [11, 11, 11, 11], delta=1, cap=11)
    assert row["detectable"] == np.inf and row["reason"] == verdicts.SATURATED
    table, claims = judged({("c", "layers"): row})
    assert claims == {"c": "untestable"} and table["status"].tolist() == ["untestable"]
    assert "saturated" in verdicts.describe(table)
    # a row given with an infinite smallest detectable effect is untestable too, whatever its p
    flagged = {**verdicts.paired_effect(around(0.5), delta=0.3), "detectable": np.inf}
    table, claims = judged({("c", "flagged"): flagged})
    assert claims == {"c": "untestable"} and table["reason"].iloc[0] == verdicts.SATURATED


def test_holm_over_the_family_runs_across_claims():
    # two claims of one comparison each: alone each clears delta, over the family of 6 the weaker does not
    rows = {("a", "strong"): verdicts.paired_effect(around(0.5, n=10), delta=0.3),
            ("b", "weak"): verdicts.paired_effect(around(0.36, n=10), delta=0.3)}
    rows.update({("c", f"null {i}"): verdicts.paired_effect(around(0.0, n=10, seed=i), delta=0.3)
                 for i in range(4)})
    table, claims = judged(rows)
    weak = table.set_index("comparison").loc["weak"]
    assert weak["p_size"] < verdicts.ALPHA and weak["p_size_claim"] == weak["p_size"]  # alone in its claim
    assert weak["p_size_family"] >= verdicts.ALPHA > weak["p_size_claim"]
    assert weak["status"] == "direction only" and claims["a"] == "confirmed"
    np.testing.assert_allclose(table["p_size_family"], verdicts.holm(table["p_size"]))
    # two families are corrected apart: the weak comparison alone in its family clears delta
    apart = pd.concat([judged({k: v}, family="other" if k[0] == "b" else "chapter")[0] for k, v in rows.items()])
    assert verdicts.judge(apart[["family", "claim", "comparison", *verdicts.EFFECT_COLUMNS]]) \
        .set_index("comparison").loc["weak", "status"] == "confirmed"


def test_dependent_observations_are_tested_at_the_level_of_their_unit():
    # 4 fits (units), 15 networks each: within a fit the networks share the fit's error
    rng = np.random.default_rng(3)
    fit_effects = np.array([0.4, -0.1, 0.3, -0.05])
    units = np.repeat(np.arange(4), 15)
    differences = fit_effects[units] + rng.normal(0, 0.01, size=60)
    naive = verdicts.paired_effect(differences, delta=0.05)
    by_fit = verdicts.paired_effect(differences, delta=0.05, units=units)
    assert naive["n"] == 60 and by_fit["n"] == 4
    assert naive["p_direction"] < 1e-3 and by_fit["p_direction"] > verdicts.ALPHA
    assert by_fit["effect"] == pytest.approx(verdicts.unit_means(differences, units).mean())
    np.testing.assert_allclose(verdicts.unit_means([1.0, 3.0, np.nan, 5.0], ["a", "a", "b", "b"]), [2.0, 5.0])
    assert verdicts.paired_effect([1.0, 2.0, 3.0], delta=1, units=[0, 0, 0])["reason"].startswith("1 independent")


@pytest.mark.parametrize("statuses, verdict", [
    (["confirmed", "confirmed"], "confirmed"),
    (["confirmed", "direction only"], "direction only"),
    (["direction only", "inconclusive"], "partly"),
    (["confirmed", "not reproduced"], "partly"),
    (["confirmed", "untestable"], "partly"),
    (["not reproduced", "inconclusive"], "not reproduced"),
    (["inconclusive", "untestable"], "inconclusive"),
    (["untestable"], "untestable"),
    ([], "untestable"),
])
def test_sized_verdict(statuses, verdict):
    assert verdicts.sized_verdict(statuses) == verdict
    assert verdict in verdicts.VERDICTS


def test_sized_verdict_refuses_the_earlier_statuses():
    with pytest.raises(ValueError, match="'supports'"):
        verdicts.sized_verdict(["supports"])


def test_shift_and_share_effects():
    rng = np.random.default_rng(4)
    a, b = rng.normal(0, 1, 40), rng.normal(2, 1, 40)
    row = verdicts.shift_effect(a, b, delta=1.0)
    assert row["low"] < row["effect"] < row["high"] and 1.5 < row["effect"] < 2.5
    assert row["p_size"] < verdicts.ALPHA and row["p_reverse"] > 0.5
    share = verdicts.share_effect(28, 30, delta=0.8)
    assert share["low"] <= 28 / 30 <= share["high"] and share["p_direction"] < share["p_size"]
    assert (share["low"] > 0.8) == (share["p_size"] < verdicts.ALPHA)  # exact: the ends are the tests
    assert verdicts.share_effect(0, 0, delta=0.8)["reason"] == "no network to count"


def test_untestable_rows_and_bad_input():
    table, claims = judged({("c", "memorised"): verdicts.untestable("no network memorised", delta=0.05),
                            ("c", "ok"): verdicts.paired_effect(around(0.5), delta=0.05)})
    assert claims == {"c": "partly"}
    assert "untestable (no network memorised)" in verdicts.describe(table)
    shown = verdicts.display_table(table)
    assert shown["status"].tolist() == ["untestable (no network memorised)", "confirmed"]
    with pytest.raises(ValueError, match="reason"):
        verdicts.untestable("", delta=1)
    with pytest.raises(ValueError, match="delta=0"):
        verdicts.paired_effect([1.0, 2.0], delta=0)
    with pytest.raises(ValueError, match="lack columns"):
        verdicts.judge([{"claim": "c", "effect": 1.0}])
    assert verdicts.chapter_verdicts([])[1] == {}


def test_display_table_without_statuses_shows_the_evidence_within_the_claim():
    rows = verdicts.labelled("f", "c", {"a": verdicts.paired_effect(around(0.5), delta=0.3),
                                        "b": verdicts.paired_effect(around(0.1), delta=0.3)})
    assert [r["claim"] for r in rows] == ["c", "c"] and rows[0]["family"] == "f"
    table = verdicts.judge(rows)
    shown = verdicts.display_table(table, statuses=False)
    assert "status" not in shown and "/" not in "".join(shown["p against δ (claim)"])
    assert shown["p against δ (claim)"].iloc[0] == f"{table['p_size_claim'].iloc[0]:.2g}"


@pytest.mark.parametrize("value, digits, sign, text", [
    (0.0383, 2, "", "0.038"), (123.4, 2, "", "123"), (1234.5, 3, "+", "+1,234"), (-0.0000123, 2, "", "-0.000012"),
    (0.0, 2, "+", "+0"), (4.5, 2, "+", "+4.5"),
])
def test_significant_never_writes_scientific_notation(value, digits, sign, text):
    assert verdicts.significant(value, digits, sign) == text
