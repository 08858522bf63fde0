"""Turning tidy Betti tables into the numbers a verdict rests on, and the verdict rules.

Every rule is stated in its docstring and shown on the chapter page, so the reader can
check a verdict against the data it came from.

**The book's rules** (fixed before looking at any result; every chapter uses them):

1. *The unit is the network (or the seed).* Two classes of one network are not independent
   samples: they are averaged within the network (:func:`per_network`) or analysed
   separately, never pooled.
2. *A claim is a family of comparisons*, corrected together by Holm's method (:func:`holm`).
3. Each comparison gets a status (:func:`comparison_status`): **supports** (significant in the
   claimed direction after correction), **contradicts** (significant the other way),
   **no effect** (not significant, and the design had 80% power to detect the smallest effect
   of interest, so a real effect of that size would very likely have shown), **inconclusive**
   (not significant, but the smallest effect the design could detect, :func:`minimum_detectable_shift`,
   is larger than the effect of interest), or **untestable** (a group has no networks, e.g.
   none reached 100%, or every value of both groups is censored).
4. The claim's verdict (:func:`claim_verdict`): **untestable** when no comparison is
   testable; **confirmed** when every comparison is testable and supports it; **partly** when
   some support it; **not reproduced** when none does and some contradict it or show no
   effect; **inconclusive** otherwise (every testable comparison was underpowered).
5. A claim whose precondition failed (no network at 100%, no memorisation) is untestable, and
   the chapter checks the precondition in code before calling these functions.
6. *No verdict from no data.* Every function here gives **untestable** (or NaN where it
   returns a number) when its input is empty or every value is missing (NaN), and says why
   (a ``reason``); missing values are left out, never counted as 0.

- :func:`layers_to_simplify`: per (network, class), the first layer where the class is one
  piece with no holes, censored at one past the last layer when it never is.
- :func:`last_layer_share`: how much of a network's simplification happens at its end.
- :func:`share_claim`: rule 4 for "most networks do X": the share with its Wilson interval
  (:data:`SHARE_STATUS` reads it as a comparison's status).
- :func:`ordering_claim`: rules 2 to 4 for "A is smaller than B" (one-sided rank tests).
- :func:`paired_claim`: rules 2 to 4 on paired data (treatment and reference trained from
  the same seed): one-sided paired t-tests, Holm, the smallest detectable mean difference.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .topology import simplification
from .validation import (check_columns, check_finite, check_positive_int, check_positive_number, check_probabilities,
                         check_real_number)

#: Significance level of every test in the book (after Holm's correction within a claim).
ALPHA = 0.05
#: Power at which the smallest detectable effect is stated.
POWER = 0.8
#: The statuses a comparison can have, and the verdicts a claim can get.
STATUSES = ("supports", "contradicts", "no effect", "inconclusive", "untestable")
VERDICTS = ("confirmed", "partly", "not reproduced", "inconclusive", "untestable")


def layers_to_simplify(betti: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """First layer at which each class of each network is simple (beta_0 = 1, beta_k = 0).

    ``betti`` is a tidy table (columns ``by``, ``depth``, ``label``, ``dim``, ``betti``);
    ``by`` names the columns that identify one network (e.g. problem, architecture,
    activation, seed). Returns :func:`~tdnn_utils.topology.simplification`'s columns plus
    ``n_layers`` (last depth), ``layers`` (the first simple depth, or ``n_layers + 1`` when
    the class never becomes simple: a censored value that ranks after every real one),
    ``censored`` and ``fraction`` (``layers / n_layers``, for comparing depths).

    An empty table, or one whose Betti numbers are all missing, gives an empty result (with
    these columns): no class to judge.
    """
    summary = simplification(betti, by=tuple(by))
    if summary.empty:
        return summary.assign(n_layers=pd.Series(dtype=int), censored=pd.Series(dtype=bool),
                              layers=pd.Series(dtype=int), fraction=pd.Series(dtype=float))
    last = betti.groupby(list(by))["depth"].max().rename("n_layers").reset_index()
    summary = summary.merge(last, on=list(by))
    summary["censored"] = summary["first_simple_depth"].isna()
    summary["layers"] = summary["first_simple_depth"].fillna(summary["n_layers"] + 1).astype(int)
    summary["fraction"] = summary["layers"] / summary["n_layers"]
    return summary


def last_layer_share(betti: pd.DataFrame, by: Sequence[str], last: int = 1) -> pd.DataFrame:
    """Share of each (network, class)'s topological change made in its last ``last`` steps.

    With T(d) the sum of Betti numbers at depth d (0 = input, L = logits), the change is
    counted step by step as |T(d) - T(d - 1)|; the share is the last ``last`` steps' part of
    the total, in [0, 1]: near 1 when the topology changes abruptly at the end, small when
    the change is spread over the layers. A class whose T never changes gets NaN. Returns
    columns ``by``, ``label``, ``share``; no row for an empty table, nor for a depth whose
    Betti numbers are missing (NaN: left out, not read as 0).
    """
    keys = list(by) + ["label"]
    check_columns(betti, keys + ["depth", "betti"], "betti", numeric=["depth", "betti"], complete=keys + ["depth"])
    last = check_positive_int(last, "last")
    measured = betti.groupby(keys + ["depth"])["betti"]
    totals = measured.sum().reset_index()
    totals = totals[measured.count().to_numpy() == measured.size().to_numpy()]  # every dim measured
    rows = []
    for key, group in totals.sort_values("depth").groupby(keys, sort=True):
        steps = np.abs(np.diff(group["betti"].to_numpy()))
        if len(steps) < last:
            raise ValueError(f"{key}: {len(steps) + 1} depths, too few for last={last}")
        share = steps[-last:].sum() / steps.sum() if steps.sum() > 0 else np.nan
        rows.append({**dict(zip(keys, key)), "share": float(share)})
    return pd.DataFrame(rows, columns=keys + ["share"])


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of ``p_values`` for multiple comparisons (NaN stays NaN).

    Every p-value must lie in [0, 1] (or be NaN: no test); anything else is refused.
    """
    p = check_probabilities(p_values, "p_values")
    adjusted = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid])]
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p[index]))
        adjusted[index] = running
    return adjusted


# ---------------------------------------------------------------------------- the book's rules
def per_network(table: pd.DataFrame, by: Sequence[str], value: str, *,
                over: str = "label") -> pd.DataFrame:
    """One row per network: ``value`` averaged over ``over`` (the classes) within each network.

    ``by`` names the columns that identify a network. Also returns ``parts`` (how many rows
    were averaged) and, when the table has a boolean ``censored`` column, ``censored`` (every
    averaged row was censored). Rule 1 of the module: the network is the unit.
    """
    missing = (set(by) | {value, over}) - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns {sorted(missing)}")
    grouped = table.groupby(list(by), sort=False)
    result = grouped[value].mean().rename(value).to_frame()
    result["parts"] = grouped[value].size()
    if "censored" in table.columns:
        result["censored"] = grouped["censored"].all()
    return result.reset_index()


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion; (nan, nan) for n = 0 (no data)."""
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"successes={successes!r} must be in 0..n and n={n!r} >= 0")
    if n == 0:
        return float("nan"), float("nan")
    z = stats.norm.ppf(0.5 + confidence / 2)
    share = successes / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    return float(min(low, share)), float(max(high, share))  # rounding at 0 and 1


def share_claim(successes: int, n: int, *, confirm_at: float = 0.8, reject_below: float = 0.5,
                confidence: float = 0.95) -> tuple[str, dict]:
    """Verdict on "most networks do X" from ``successes`` of ``n`` networks.

    Rule: **untestable** with no network; **confirmed** when the Wilson interval's lower end
    is at least ``confirm_at``; **not reproduced** when its upper end is below
    ``reject_below``; **partly** when the share is at least ``reject_below`` but not
    confirmed; **inconclusive** when the interval is too wide to place the share on either
    side of ``reject_below`` (it straddles it). Returns ``(verdict, facts)``.
    """
    successes, n = check_positive_int(successes, "successes", minimum=0), check_positive_int(n, "n", minimum=0)
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"successes={successes!r} must be in 0..n and n={n!r} >= 0")
    low, high = wilson_interval(successes, n, confidence)
    facts = {"n": int(n), "successes": int(successes),
             "share": successes / n if n else float("nan"), "low": low, "high": high}
    if n == 0:
        return "untestable", {**facts, "reason": "no network to count"}
    if low >= confirm_at:
        return "confirmed", facts
    if high < reject_below:
        return "not reproduced", facts
    if low >= reject_below:
        return "partly", facts
    return "inconclusive", facts


#: A share claim's verdict read as one comparison's status, for a claim that joins a share
#: with other comparisons (:func:`claim_verdict`): a share above the bar but not clearly
#: above it is not yet support.
SHARE_STATUS = {"confirmed": "supports", "partly": "inconclusive", "not reproduced": "contradicts",
                "inconclusive": "inconclusive", "untestable": "untestable"}


def _mann_whitney_less(a, b) -> float:
    if np.ptp(np.concatenate([a, b])) == 0:
        return 1.0
    return float(stats.mannwhitneyu(a, b, alternative="less").pvalue)


def minimum_detectable_shift(a, b, *, alpha: float = ALPHA, power: float = POWER,
                             cap: float | None = None, n_simulations: int = 300,
                             seed: int = 0) -> float:
    """Smallest shift the one-sided rank test of ``a < b`` detects with probability ``power``.

    The design's sensitivity, by simulation: samples of the sizes of ``a`` and ``b`` are drawn
    (with replacement) from the two groups pooled, ``b``'s are shifted up by ``delta`` (and
    capped at ``cap``, the censoring value, if given), and the test is run at level ``alpha``
    (give the strictest Holm level, alpha / number of comparisons). The smallest ``delta``
    with a rejection rate of at least ``power`` is found by bisection to 1/20 of the pooled
    range. Returns ``inf`` when even a shift of the pooled range is not detected (or a group
    is empty), in the values' own units. Missing values (NaN) are left out.
    """
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) == 0 or len(b) == 0:
        return float("inf")
    pooled = np.concatenate([a, b])
    span = float(np.ptp(pooled)) or 1.0
    rng = np.random.default_rng(seed)
    draws_a = rng.choice(pooled, size=(n_simulations, len(a)))
    draws_b = rng.choice(pooled, size=(n_simulations, len(b)))

    def rate(delta):
        shifted = draws_b + delta
        if cap is not None:
            shifted = np.minimum(shifted, cap)
        rejected = [_mann_whitney_less(x, y) < alpha for x, y in zip(draws_a, shifted)]
        return float(np.mean(rejected))

    if rate(span) < power:
        return float("inf")
    low, high = 0.0, span
    while high - low > span / 20:
        middle = (low + high) / 2
        low, high = (low, middle) if rate(middle) >= power else (middle, high)
    return float(high)


def minimum_detectable_paired(differences, *, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest mean paired difference a one-sided paired t-test detects with ``power``.

    ``(t_(1-alpha) + t_power) * sd / sqrt(n)`` with ``n - 1`` degrees of freedom (the normal
    approximation to the non-central t); ``inf`` with fewer than 2 pairs.
    """
    differences = np.asarray(differences, float)
    n = len(differences)
    if n < 2:
        return float("inf")
    sd = float(differences.std(ddof=1))
    return float((stats.t.ppf(1 - alpha, n - 1) + stats.t.ppf(power, n - 1)) * sd / np.sqrt(n))


def comparison_status(p_claimed: float, p_reverse: float, detectable: float, interest: float,
                      alpha: float = ALPHA) -> str:
    """A comparison's status from Holm-adjusted one-sided p-values (rule 3 of the module).

    ``p_claimed``: the test in the claimed direction; ``p_reverse``: the same test the other
    way; ``detectable``: the smallest effect the design detects with 80% power (in the units
    of ``interest``, the smallest effect that would matter). NaN p-values mean untestable.
    """
    if np.isnan(p_claimed) or np.isnan(p_reverse):
        return "untestable"
    if p_claimed < alpha:
        return "supports"
    if p_reverse < alpha:
        return "contradicts"
    return "no effect" if detectable <= interest else "inconclusive"


def claim_verdict(statuses: Sequence[str]) -> str:
    """A claim's verdict from its comparisons' statuses (rule 4 of the module)."""
    statuses = list(statuses)
    unknown = set(statuses) - set(STATUSES)
    if unknown:
        raise ValueError(f"statuses {sorted(unknown)} are unknown; use some of {STATUSES}")
    testable = [s for s in statuses if s != "untestable"]
    if not testable:
        return "untestable"
    if all(s == "supports" for s in statuses):
        return "confirmed"
    if "supports" in testable:
        return "partly"
    if "contradicts" in testable or "no effect" in testable:
        return "not reproduced"
    return "inconclusive"


def ordering_claim(values: pd.DataFrame, group: str, value: str, pairs: Sequence[tuple],
                   *, interest: float, censored: str | None = None, cap: float | None = None,
                   alpha: float = ALPHA, family: str | None = None) -> tuple[str, pd.DataFrame]:
    """Verdict on "``a`` has smaller ``value`` than ``b``" for each ``(a, b)`` in ``pairs``.

    ``values`` has one row per network (:func:`per_network`); ``group`` names its group
    (e.g. the activation) and ``family`` optionally a column that further splits the rows
    (e.g. the data set): then ``pairs`` are ``(family_value, a, b)``. Each comparison is a
    one-sided Mann-Whitney test on the networks' values, both directions Holm-adjusted over
    the claim's testable comparisons; the smallest detectable shift is computed at the
    strictest Holm level (alpha / number of testable comparisons). A comparison is
    untestable when a group has no network or (with ``censored``, a boolean column) every
    network of both groups is censored. ``cap`` is the censoring value (shifts are capped
    there in the power simulation). ``interest`` is the smallest difference that would matter,
    in ``value``'s units. Networks whose ``value`` is missing (NaN) are left out; no pair at
    all gives **untestable** and an empty table.

    Returns ``(verdict, table)``: one row per comparison with ``a``, ``b`` (and ``family``),
    ``n_a``, ``n_b``, ``median_a``, ``median_b``, ``p``, ``p_holm``, ``p_reverse_holm``,
    ``detectable``, ``status`` and ``reason``.
    """
    check_columns(values, [group, value], "values", numeric=[value])
    check_finite(values[value].dropna(), f"values[{value!r}]")
    interest = check_positive_number(interest, "interest", allow_zero=True)
    cap = None if cap is None else check_real_number(cap, "cap")
    values = values[values[value].notna()]
    columns = ["a", "b", "n_a", "n_b", "median_a", "median_b", "p", "p_holm", "p_reverse_holm",
               "detectable", "status", "reason"]
    if not len(pairs):
        return "untestable", pd.DataFrame(columns=(["family"] if family else []) + columns)
    rows = []
    for pair in pairs:
        fam, a, b = (pair if family else (None, *pair))
        rows_ = values if family is None else values[values[family] == fam]
        va, vb = rows_[rows_[group] == a], rows_[rows_[group] == b]
        row = {"family": fam, "a": a, "b": b, "n_a": len(va), "n_b": len(vb),
               "median_a": float(va[value].median()) if len(va) else np.nan,
               "median_b": float(vb[value].median()) if len(vb) else np.nan,
               "p": np.nan, "p_reverse": np.nan, "reason": ""}
        if not len(va) or not len(vb):
            empty = " and ".join(str(g) for g, v in ((a, va), (b, vb)) if not len(v))
            row["reason"] = f"no network for {empty}"
        elif censored and bool(va[censored].all()) and bool(vb[censored].all()):
            row["reason"] = "every network of both groups is censored"
        else:
            row["p"] = _mann_whitney_less(va[value].to_numpy(float), vb[value].to_numpy(float))
            row["p_reverse"] = _mann_whitney_less(vb[value].to_numpy(float), va[value].to_numpy(float))
        rows.append(row)
    table = pd.DataFrame(rows)
    testable = table["p"].notna()
    table["p_holm"] = holm(table["p"].to_numpy())
    table["p_reverse_holm"] = holm(table["p_reverse"].to_numpy())
    strictest = alpha / max(1, int(testable.sum()))
    detectable = []
    for row in table.itertuples():
        if not testable[row.Index]:
            detectable.append(np.nan)
            continue
        rows_ = values if family is None else values[values[family] == row.family]
        detectable.append(minimum_detectable_shift(
            rows_.loc[rows_[group] == row.a, value], rows_.loc[rows_[group] == row.b, value],
            alpha=strictest, cap=cap))
    table["detectable"] = detectable
    table["status"] = [comparison_status(r.p_holm, r.p_reverse_holm, r.detectable, interest, alpha)
                       for r in table.itertuples()]
    if family is None:
        table = table.drop(columns="family")
    return claim_verdict(table["status"]), table.drop(columns="p_reverse")


def describe_comparisons(table: pd.DataFrame, unit: str = "") -> str:
    """One clause per comparison of :func:`ordering_claim`: medians, Holm p, status, sensitivity."""
    def clause(row):
        head = (f"{row.family}: " if "family" in table.columns and row.family is not None else "") + f"{row.a} < {row.b}"
        if row.status == "untestable":
            return f"{head} untestable ({row.reason})"
        sensitivity = ("" if row.status in ("supports", "contradicts") else
                       f"; smallest detectable shift {row.detectable:.2g}{unit}" if np.isfinite(row.detectable)
                       else "; no shift within the observed range was detectable")
        return (f"{head}: medians {row.median_a:.3g} vs {row.median_b:.3g} (n = {row.n_a}, {row.n_b}), "
                f"Holm p = {row.p_holm:.2g}, {row.status}{sensitivity}")
    return "; ".join(clause(row) for row in table.itertuples())


def _one_sided_paired_p(differences: np.ndarray) -> float:
    """One-sided paired t-test p-value that the mean difference is above 0."""
    if np.all(differences == 0):
        return 1.0
    if np.ptp(differences) == 0:  # a constant non-zero shift: t is infinite
        return 0.0 if differences[0] > 0 else 1.0
    return float(stats.ttest_1samp(differences, 0.0, alternative="greater").pvalue)


#: Paired differences beyond this magnitude are refused: their squares would overflow float64.
LARGEST_DIFFERENCE = 1e150


def _paired_differences(values, name) -> np.ndarray:
    """One comparison's differences as a flat float64 array; NaN (no pair) passes, infinities
    and magnitudes whose squares overflow (:data:`LARGEST_DIFFERENCE`) are refused."""
    what = f"comparison {name!r}'s differences"
    array = check_finite(values, what, allow_nan=True).ravel()
    too_large = np.abs(array) > LARGEST_DIFFERENCE
    if too_large.any():
        raise ValueError(f"{what} hold {array[too_large][:3].tolist()}; use differences of at most "
                         f"{LARGEST_DIFFERENCE:g} in magnitude (their squares would overflow)")
    return array


def paired_claim(comparisons, *, interest, alpha: float = ALPHA,
                 power: float = POWER) -> tuple[str, pd.DataFrame]:
    """Verdict on a claim made of paired comparisons, "``treated`` exceeds ``baseline``".

    ``comparisons`` maps a comparison's name to its paired differences (treated - baseline,
    one per network or seed: the unit; oriented so that the claimed direction is *positive*),
    or to ``(differences, reason)`` where ``reason`` says why the comparison cannot be made
    (``differences`` is then ignored; e.g. "no network memorised"; ``None`` when it can).
    ``interest`` is the smallest mean difference that would matter (a number, or a mapping
    from name to number), fixed before looking. Each comparison is a one-sided paired t-test
    in the claimed direction and another the other way, both Holm-adjusted over the claim's
    testable comparisons; the smallest detectable mean difference
    (:func:`minimum_detectable_paired`, at ``power``) is computed at the strictest Holm
    level, and the status follows :func:`comparison_status`. A comparison with fewer than 2
    finite pairs is untestable. All-zero differences give p = 1 both ways; a constant
    non-zero shift p = 0 in its direction.

    Returns ``(verdict, table)``: one row per comparison with ``comparison``, ``n``,
    ``mean_difference``, ``sd_difference``, ``wins``, ``ties``, ``losses`` (differences above,
    at, below 0), ``p``, ``p_holm``, ``p_reverse_holm``, ``detectable``, ``interest``,
    ``status`` and ``reason``.
    """
    rows, kept = [], []
    for name, value in dict(comparisons).items():
        reason = None
        if isinstance(value, tuple) and len(value) == 2 and (value[1] is None or isinstance(value[1], str)):
            value, reason = value
        differences = _paired_differences([] if reason else value, name)
        differences = differences[~np.isnan(differences)]
        if not reason and len(differences) < 2:
            reason = f"{len(differences)} pair(s), fewer than 2"
        wanted = check_positive_number(interest[name] if isinstance(interest, Mapping) else interest,
                                       "interest", allow_zero=True)
        rows.append({"comparison": name, "n": len(differences),
                     "mean_difference": float(differences.mean()) if len(differences) else np.nan,
                     "sd_difference": float(differences.std(ddof=1)) if len(differences) > 1 else np.nan,
                     "wins": int((differences > 0).sum()), "ties": int((differences == 0).sum()),
                     "losses": int((differences < 0).sum()),
                     "p": np.nan if reason else _one_sided_paired_p(differences),
                     "p_reverse": np.nan if reason else _one_sided_paired_p(-differences),
                     "interest": float(wanted), "reason": reason or ""})
        kept.append(differences)
    table = pd.DataFrame(rows, columns=["comparison", "n", "mean_difference", "sd_difference", "wins",
                                        "ties", "losses", "p", "p_reverse", "interest", "reason"])
    testable = table["p"].notna()
    table["p_holm"] = holm(table["p"].to_numpy())
    table["p_reverse_holm"] = holm(table["p_reverse"].to_numpy())
    strictest = alpha / max(1, int(testable.sum()))
    table["detectable"] = [minimum_detectable_paired(d, alpha=strictest, power=power) if ok else np.nan
                           for d, ok in zip(kept, testable)]
    table["status"] = [comparison_status(r.p_holm, r.p_reverse_holm, r.detectable, r.interest, alpha)
                       for r in table.itertuples()]
    table = table[["comparison", "n", "mean_difference", "sd_difference", "wins", "ties", "losses", "p",
                   "p_holm", "p_reverse_holm", "detectable", "interest", "status", "reason"]]
    return claim_verdict(table["status"]), table


def describe_paired(table: pd.DataFrame, unit: str = "", digits: int = 2) -> str:
    """One clause per comparison of :func:`paired_claim`: mean difference, Holm p, status, sensitivity."""
    def clause(row):
        if row.status == "untestable":
            return f"{row.comparison}: untestable ({row.reason})"
        sensitivity = ("" if row.status in ("supports", "contradicts") else
                       f"; the design detects {row.detectable:.{digits}g}{unit}, the effect of interest is "
                       f"{row.interest:.{digits}g}{unit}" if np.isfinite(row.detectable) else
                       "; no difference was detectable")
        return (f"{row.comparison}: mean difference {row.mean_difference:+.{digits}g}{unit} "
                f"(sd {row.sd_difference:.{digits}g}, n = {row.n}), Holm p = {row.p_holm:.2g}, "
                f"{row.status}{sensitivity}")
    return "; ".join(clause(row) for row in table.itertuples())
