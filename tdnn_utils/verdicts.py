"""The rules that turn measurements into verdicts, and the numbers they rest on.

Every rule is stated here, written out at the top of the claims page, and shown on the chapter
pages, so a reader can check a verdict against the data it came from.

**The book's rules** (fixed before a chapter is run; every chapter uses them):

1. *The unit is the independent unit.* Two classes of one network are not independent
   samples: they are averaged within the network (:func:`per_network`). Errors of networks
   that share one fit are averaged within the fit (``units`` of :func:`paired_effect`): the
   test counts fits, not networks.
2. *A claim states its size.* A claim of an effect of at least delta gives delta and where it
   comes from (a paper's figure, or a judgement stated before the run).
3. *Each comparison gets a status from one-sided tests* against 0 (the direction) and against
   delta (the size), each with Holm's correction over the chapter's *family* of comparisons
   (:func:`judge`); the family is named, and the value within the claim is reported beside:

   - **confirmed**: the effect clears delta (the test of "effect <= delta" rejects; alone,
     the lower end of the 90% interval lies above delta);
   - **not reproduced**: the effect lies below delta (the test of "effect >= delta" rejects;
     the interval lies wholly below delta), whatever its direction; when it is significant
     the other way it is marked *reversed*;
   - **direction only**: significant in the claimed direction, but the interval straddles
     delta: the effect is there, its size is not shown;
   - **inconclusive**: none of these; the interval holds both 0 and delta;
   - **untestable**: a precondition failed (the chapter checks it in code and says which),
     fewer than two units remain, or the statistic is *saturated* (it cannot move: the
     smallest effect the design could detect is infinite).
4. *A claim's verdict* (:func:`sized_verdict`): **confirmed** when every comparison is;
   **direction only** when every comparison is confirmed or direction only and one is not
   confirmed; **partly** when some comparisons are confirmed or direction only and others
   are not; **not reproduced** when none is and some are not reproduced; **inconclusive**
   when every testable comparison is inconclusive; **untestable** when none is testable.
5. *No verdict from no data.* Missing values (NaN) are left out, never counted as 0; a
   comparison with nothing left is untestable and says why.

:func:`paired_effect` (paired differences, t), :func:`shift_effect` (two groups, ranks) and
:func:`share_effect` (a share of networks, binomial) give one comparison's row;
:func:`chapter_verdicts` judges a chapter's rows and returns each claim's verdict;
:func:`describe` and :func:`display_table` put them in words and in a table.

*Earlier rules, kept until Chapters 1 and 2 adopt the ones above:* :func:`comparison_status`,
:func:`claim_verdict`, :func:`ordering_claim`, :func:`paired_claim` and :func:`share_claim`
judge "supports" by significance in the claimed direction alone, Holm within the claim.

- :func:`layers_to_simplify`: per (network, class), the first layer where the class is one
  piece with no holes, censored at one past the last layer when it never is.
- :func:`last_layer_share`: how much of a network's simplification happens at its end.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .topology import simplification
from .validation import (check_columns, check_finite, check_positive_int, check_positive_number, check_probabilities,
                         check_real_number)

#: Significance level of every one-sided test in the book (after Holm's correction).
ALPHA = 0.05
#: Power at which the smallest detectable effect is stated.
POWER = 0.8
#: Two-sided level of the intervals shown: each end is a one-sided test at ``ALPHA``.
CONFIDENCE = 1 - 2 * ALPHA
#: The verdicts a claim can get (rule 4), from the claim fully shown to not testable.
VERDICTS = ("confirmed", "direction only", "partly", "not reproduced", "inconclusive", "untestable")
#: The statuses a comparison can get under the rules (rule 3): the verdicts but "partly".
SIZE_STATUSES = tuple(v for v in VERDICTS if v != "partly")
#: The earlier rules' statuses (:func:`comparison_status`), kept for Chapters 1 and 2.
STATUSES = ("supports", "contradicts", "no effect", "inconclusive", "untestable")
#: Why a comparison whose statistic cannot move is untestable (rule 3).
SATURATED = "the statistic is saturated: no effect within its range is detectable"


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
SHARE_STATUS = {"confirmed": "supports", "direction only": "inconclusive", "partly": "inconclusive",
                "not reproduced": "contradicts", "inconclusive": "inconclusive", "untestable": "untestable"}


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


# ---------------------------------------------------------------------------- the size rules
#: One comparison's row, as :func:`paired_effect`, :func:`shift_effect` and :func:`share_effect`
#: give it (``effect`` in the claimed direction; ``null`` the value of no effect, ``delta`` the
#: claimed one; the four one-sided p-values before any correction).
EFFECT_COLUMNS = ("n", "effect", "low", "high", "null", "delta", "p_size", "p_direction", "p_short",
                  "p_reverse", "detectable", "reason")
#: What :func:`judge` adds: Holm within the claim and over the family, ``reversed`` and ``status``.
JUDGED_COLUMNS = ("p_size_claim", "p_size_family", "p_direction_claim", "p_direction_family",
                  "p_short_family", "p_reverse_family", "reversed", "status")


#: The rules above as a reader gets them (Markdown), written out at the top of the claims page.
RULES = f"""\
Every verdict follows the same rules, fixed in `tdnn_utils.verdicts` before a chapter runs.

1. **The unit is independent.** Two classes of one network are averaged within the network;
   networks that share one fit count as one unit, the fit.
2. **A claim states its size.** A claim of an effect of at least δ says what δ is and where it
   comes from: a paper's figure, or a judgement stated before the run.
3. **Each comparison is tested for its direction and for its size**: one-sided tests at
   {ALPHA:g} against no effect and against δ, with Holm's correction over the chapter's
   *family* of comparisons (named with each chapter below); the value within the claim is
   given beside. The interval shown is the comparison's own {CONFIDENCE:.0%} interval: alone,
   its lower end clears δ exactly when the test against δ rejects; the family's correction can
   ask for more.
4. **A comparison's status**: *confirmed* when the effect clears δ; *not reproduced* when it
   lies below δ (marked *reversed* when it goes significantly the other way); *direction
   only* when it is significant in the claimed direction but its interval straddles δ;
   *inconclusive* when the interval holds both no effect and δ; *untestable* when a
   precondition failed (checked in code, and named), fewer than two units remain, or the
   statistic is saturated (it cannot move: no effect within its range is detectable).
5. **A claim's verdict**: *confirmed* when every comparison is; *direction only* when every
   comparison is confirmed or direction only, not all confirmed; *partly* when some are and
   others are not; *not reproduced* when none is and some lie below δ; *inconclusive* when
   every testable comparison is inconclusive; *untestable* when none can be tested.
6. **Every verdict is scoped** to what was run (the models, data and training); a result in
   the opposite direction is said as the direction in those models, not as a refutation.
"""


def _check_delta(delta, null):
    if check_real_number(delta, "delta") <= check_real_number(null, "null"):
        raise ValueError(f"delta={delta!r} must be a finite effect beyond null={null!r} (the claimed size)")


def untestable(reason: str, *, delta: float, null: float = 0.0, n: int = 0) -> dict:
    """A comparison that cannot be made, with its ``reason`` (rule 3): every number NaN."""
    if not str(reason).strip():
        raise ValueError("an untestable comparison needs its reason")
    nan = float("nan")
    return {"n": int(n), "effect": nan, "low": nan, "high": nan, "null": float(null), "delta": float(delta),
            "p_size": nan, "p_direction": nan, "p_short": nan, "p_reverse": nan, "detectable": nan,
            "reason": str(reason)}


def _greater_p(values: np.ndarray, value: float) -> float:
    """One-sided t-test p-value that the mean of ``values`` exceeds ``value`` (degenerate cases exact)."""
    shifted = values - value
    if np.all(shifted == 0):
        return 1.0
    if np.ptp(shifted) == 0:  # a constant shift: t is infinite
        return 0.0 if shifted[0] > 0 else 1.0
    return float(stats.ttest_1samp(shifted, 0.0, alternative="greater").pvalue)


def unit_means(values, units) -> np.ndarray:
    """``values`` averaged within each of ``units`` (rule 1): one value per independent unit.

    values, units : arrays of shape (n,); rows whose value is not finite are left out first.
    Returns an array of shape (number of units,), in the order the units first appear.
    """
    values, units = np.asarray(values, float).ravel(), np.asarray(units, dtype=object).ravel()
    if len(values) != len(units):
        raise ValueError(f"values ({len(values)}) and units ({len(units)}) differ in length")
    kept = np.isfinite(values)
    frame = pd.DataFrame({"unit": units[kept], "value": values[kept]})
    return frame.groupby("unit", sort=False)["value"].mean().to_numpy(float)


#: Magnitudes beyond which squares overflow float64: :func:`paired_effect` rescales them.
HUGE = 1e150


def paired_effect(differences, delta: float, *, null: float = 0.0, units=None, alpha: float = ALPHA,
                  power: float = POWER) -> dict:
    """One comparison on paired differences, oriented so that the claimed direction is positive.

    Parameters
    ----------
    differences : array of shape (n,): treated minus reference, one per independent unit
        (a seed, a network), or one per observation when ``units`` is given.
    delta : the effect claimed (rule 2), in the differences' units, beyond ``null``.
    null : the value of no effect (0 for a difference).
    units : array of shape (n,) or None: the independent unit of each observation (e.g. the fit
        it shares with others); the differences are averaged within units first (rule 1).
    alpha, power : the level of the one-sided tests and the power of ``detectable``.

    Returns
    -------
    row : dict with :data:`EFFECT_COLUMNS`: ``n`` units, ``effect`` their mean, ``low`` and
        ``high`` its :data:`CONFIDENCE` t interval, the one-sided t-tests ``p_size`` (of
        "effect <= delta"), ``p_direction`` ("effect <= null"), ``p_short`` ("effect >= delta")
        and ``p_reverse`` ("effect >= null"), ``detectable`` (the smallest mean the test of
        the direction detects with ``power``, :func:`minimum_detectable_paired`) and
        ``reason`` (why it is untestable: fewer than 2 units; else "").
    """
    _check_delta(delta, null)
    values = np.asarray(differences, float).ravel()
    values = unit_means(values, units) if units is not None else values[np.isfinite(values)]
    n = len(values)
    if n < 2:
        return untestable(f"{n} independent unit(s), fewer than 2", delta=delta, null=null, n=n)
    # Work in units of the largest magnitude where squares would overflow; p-values do not change.
    peak = float(np.abs(values).max())
    scale = peak if peak > HUGE else 1.0
    values, delta_, null_ = values / scale, float(delta) / scale, float(null) / scale
    mean, sd = float(values.mean()), float(values.std(ddof=1))
    half = float(stats.t.ppf(1 - alpha, n - 1) * sd / np.sqrt(n))
    return {"n": n, "effect": mean * scale, "low": (mean - half) * scale, "high": (mean + half) * scale,
            "null": float(null), "delta": float(delta), "p_size": _greater_p(values, delta_),
            "p_direction": _greater_p(values, null_), "p_short": _greater_p(-values, -delta_),
            "p_reverse": _greater_p(-values, -null_),
            "detectable": minimum_detectable_paired(values, alpha=alpha, power=power) * scale, "reason": ""}


def _shift_p(a, b, value, alternative):
    moved = b - value
    if np.ptp(np.concatenate([a, moved])) == 0:
        return 1.0
    return float(stats.mannwhitneyu(moved, a, alternative=alternative).pvalue)


def shift_effect(a, b, delta: float, *, null: float = 0.0, cap: float | None = None,
                 alpha: float = ALPHA, power: float = POWER) -> dict:
    """One comparison of two independent groups: ``b`` exceeds ``a`` by at least ``delta`` (ranks).

    Parameters
    ----------
    a, b : arrays of shape (n_a,), (n_b,): one value per independent unit (a network);
        missing values (NaN) are left out.
    delta : the claimed shift of ``b`` over ``a`` (rule 2); ``null`` the shift of no effect.
    cap : the censoring value, if the values are censored there (for ``detectable``).

    Returns
    -------
    row : dict with :data:`EFFECT_COLUMNS`: ``n`` = n_a + n_b, ``effect`` the Hodges-Lehmann
        shift (median of the pairwise differences b - a), ``low`` and ``high`` its
        :data:`CONFIDENCE` interval (Moses, from the Mann-Whitney statistic's normal
        approximation), the one-sided Mann-Whitney tests of ``b - v`` against ``a`` for v in
        (``delta``, ``null``), ``detectable`` (:func:`minimum_detectable_shift`, ``inf`` when
        no shift within the values' range is detectable: the statistic is saturated, so the
        comparison is untestable) and ``reason``.
    """
    _check_delta(delta, null)
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) < 2 or len(b) < 2:
        return untestable(f"{len(a)} and {len(b)} networks, fewer than 2 in a group", delta=delta, null=null,
                          n=len(a) + len(b))
    detectable = minimum_detectable_shift(a, b, alpha=alpha, power=power, cap=cap)
    if not np.isfinite(detectable):
        return {**untestable(SATURATED, delta=delta, null=null, n=len(a) + len(b)), "detectable": detectable}
    pairs = np.sort(np.subtract.outer(b, a).ravel())
    z = stats.norm.ppf(1 - alpha)
    k = int(np.floor(len(a) * len(b) / 2 - z * np.sqrt(len(a) * len(b) * (len(a) + len(b) + 1) / 12)))
    k = min(max(k, 0), len(pairs) - 1)
    return {"n": len(a) + len(b), "effect": float(np.median(pairs)), "low": float(pairs[k]),
            "high": float(pairs[len(pairs) - 1 - k]), "null": float(null), "delta": float(delta),
            "p_size": _shift_p(a, b, delta, "greater"), "p_direction": _shift_p(a, b, null, "greater"),
            "p_short": _shift_p(a, b, delta, "less"), "p_reverse": _shift_p(a, b, null, "less"),
            "detectable": float(detectable), "reason": ""}


def share_effect(successes: int, n: int, delta: float, *, null: float = 0.5) -> dict:
    """One comparison on a share of networks: "at least ``delta`` of them do X" (exact binomial).

    ``null`` is the share that would mean no effect (0.5: "most networks" is the direction);
    ``delta`` the claimed share. Returns a dict with :data:`EFFECT_COLUMNS`: the share, its
    :data:`CONFIDENCE` Clopper-Pearson interval (each end an exact one-sided test at
    ``ALPHA``), the exact one-sided binomial tests against ``delta`` and ``null``;
    ``detectable`` is NaN (not used); untestable with no network.
    """
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"successes={successes!r} must be in 0..n and n={n!r} >= 0")
    _check_delta(delta, null)
    if not 0 <= null < delta <= 1:
        raise ValueError(f"shares must satisfy 0 <= null ({null!r}) < delta ({delta!r}) <= 1")
    if n == 0:
        return untestable("no network to count", delta=delta, null=null)
    test = stats.binomtest(int(successes), int(n))
    interval = test.proportion_ci(confidence_level=CONFIDENCE, method="exact")

    def p(value, alternative):
        return float(stats.binomtest(int(successes), int(n), value, alternative=alternative).pvalue)

    return {"n": int(n), "effect": successes / n, "low": float(interval.low), "high": float(interval.high),
            "null": float(null), "delta": float(delta), "p_size": p(delta, "greater"),
            "p_direction": p(null, "greater"), "p_short": p(delta, "less"), "p_reverse": p(null, "less"),
            "detectable": float("nan"), "reason": ""}


def labelled(family: str, claim: str, rows: Mapping[str, dict]) -> list[dict]:
    """Rows for :func:`judge`: each ``{comparison: effect row}`` tagged with its ``family`` and ``claim``."""
    return [{"family": family, "claim": claim, "comparison": name, **row} for name, row in rows.items()]


def judge(comparisons, alpha: float = ALPHA) -> pd.DataFrame:
    """The status of each of a chapter's comparisons (rule 3).

    Parameters
    ----------
    comparisons : DataFrame or list of dicts, one row per comparison, with ``family`` (the
        name of the family of comparisons corrected together: a chapter's, or one of its
        kinds), ``claim`` (the claim it belongs to), ``comparison`` (its name) and
        :data:`EFFECT_COLUMNS` (a row of :func:`paired_effect`, :func:`shift_effect`,
        :func:`share_effect` or :func:`untestable`).

    Returns
    -------
    table : the rows with :data:`JUDGED_COLUMNS` added: the Holm-adjusted p-values of the
        size test (``p_size_*``) and of the direction test (``p_direction_*``) within the
        claim and over the family, those of ``p_short`` and ``p_reverse`` over the family,
        ``reversed`` (significant against the claimed direction) and ``status``.
        A comparison whose ``detectable`` is infinite is untestable: :data:`SATURATED`.
    """
    table = pd.DataFrame(list(comparisons) if not isinstance(comparisons, pd.DataFrame) else comparisons)
    needed = {"family", "claim", "comparison", *EFFECT_COLUMNS}
    missing = needed - set(table.columns) if len(table) else set()
    if missing:
        raise ValueError(f"comparisons lack columns {sorted(missing)}; give rows of paired_effect, "
                         "shift_effect, share_effect or untestable with family, claim and comparison")
    if table.empty:
        return pd.DataFrame(columns=["family", "claim", "comparison", *EFFECT_COLUMNS, *JUDGED_COLUMNS])
    table = table.reset_index(drop=True).copy()
    saturated = np.isinf(table["detectable"].astype(float))
    table.loc[saturated, "reason"] = table.loc[saturated, "reason"].where(
        table.loc[saturated, "reason"].astype(bool), SATURATED)
    for column in ("p_size", "p_direction", "p_short", "p_reverse"):
        table.loc[saturated, column] = np.nan
    for column, within in (("p_size", ("claim", "family")), ("p_direction", ("claim", "family")),
                           ("p_short", ("family",)), ("p_reverse", ("family",))):
        for group in within:
            keys = ["family", "claim"] if group == "claim" else ["family"]
            table[f"{column}_{group}"] = table.groupby(keys, sort=False)[column].transform(
                lambda p: holm(p.to_numpy(float)))
    table["reversed"] = table["p_reverse_family"] < alpha
    table["status"] = [_status(row, alpha) for row in table.itertuples()]
    return table


def _status(row, alpha):
    if np.isnan(row.p_size_family):
        return "untestable"
    if row.p_size_family < alpha:
        return "confirmed"
    if row.p_short_family < alpha:
        return "not reproduced"
    if row.p_direction_family < alpha:
        return "direction only"
    return "inconclusive"


def sized_verdict(statuses: Sequence[str]) -> str:
    """A claim's verdict from its comparisons' statuses under the size rules (rule 4)."""
    statuses = list(statuses)
    unknown = set(statuses) - set(SIZE_STATUSES)
    if unknown:
        raise ValueError(f"statuses {sorted(unknown)} are unknown; use some of {SIZE_STATUSES}")
    shown = [s in ("confirmed", "direction only") for s in statuses]
    if all(s == "untestable" for s in statuses):
        return "untestable"
    if all(s == "confirmed" for s in statuses):
        return "confirmed"
    if all(shown):
        return "direction only"
    if any(shown):
        return "partly"
    if "not reproduced" in statuses:
        return "not reproduced"
    return "inconclusive"


def chapter_verdicts(comparisons, alpha: float = ALPHA) -> tuple[pd.DataFrame, dict]:
    """:func:`judge` a chapter's comparisons, then each claim's verdict (:func:`sized_verdict`).

    Returns ``(table, verdicts)``: the judged table and ``{claim: verdict}`` in the order the
    claims first appear.
    """
    table = judge(comparisons, alpha)
    verdicts = {claim: sized_verdict(rows["status"]) for claim, rows in table.groupby("claim", sort=False)}
    return table, verdicts


def _p(p) -> str:
    return "n/a" if p is None or np.isnan(p) else f"{p:.2g}"


def significant(value: float, digits: int = 2, sign: str = "") -> str:
    """``value`` to ``digits`` significant digits, never in scientific notation (123.4 -> "123")."""
    if not np.isfinite(value):
        return str(value)
    if value != 0 and abs(value) >= 10 ** digits:
        return f"{value:{sign},.0f}"
    text = np.format_float_positional(value, precision=digits, unique=False, fractional=False, trim="-")
    return f"+{text}" if sign == "+" and not text.startswith("-") else text


def describe(table: pd.DataFrame, *, unit: str = "", scale: float = 1.0, digits: int = 2) -> str:
    """One clause per judged comparison (:func:`judge`): effect, interval, delta, p-values, status.

    ``scale`` multiplies the effects (100 for points or per cent), ``unit`` follows them.
    """
    def number(x, sign="", with_unit=True):
        return significant(x * scale, digits, sign) + (unit if with_unit else "")

    clauses = []
    for row in table.itertuples():
        if row.status == "untestable":
            clauses.append(f"{row.comparison}: untestable ({row.reason})")
            continue
        head = (f"{row.comparison}: {number(row.effect, '+')} ({CONFIDENCE:.0%} interval "
                f"{number(row.low, with_unit=False)} to {number(row.high)}, n = {row.n}) against δ = {number(row.delta)}")
        size = f"p = {_p(row.p_size_claim)} within the claim, {_p(row.p_size_family)} over the family"
        direction = (f"p = {_p(row.p_direction_claim)} within the claim, {_p(row.p_direction_family)} "
                     "over the family")
        if row.status == "confirmed":
            tail = f"clears δ ({size})"
        elif row.status == "direction only":
            tail = f"in the claimed direction ({direction}) but not shown to reach δ ({size})"
        elif row.status == "not reproduced":
            tail = (f"smaller than δ (p = {_p(row.p_short_family)} over the family)"
                    + (f", in the opposite direction (p = {_p(row.p_reverse_family)})" if row.reversed else ""))
        else:
            sensitivity = (f"; alone, the test of the direction detects {number(row.detectable)} with {POWER:.0%} power"
                           if np.isfinite(row.detectable) else "")
            tail = f"neither above {number(row.null)} nor below δ after correction ({direction}){sensitivity}"
        clauses.append(f"{head}: {row.status}, {tail}")
    return "; ".join(clauses)


def display_table(table: pd.DataFrame, *, scale: float = 1.0, digits: int = 3, unit: str = "",
                  statuses: bool = True) -> pd.DataFrame:
    """A judged table (:func:`judge`) as a reader needs it: words for headers, numbers rounded.

    Columns: comparison, units, effect, interval, delta, p of the size test and of the direction
    test (each within the claim / over the family), status (with the reason of an untestable
    one, or "reversed"). ``scale`` and ``unit`` as in :func:`describe`. With ``statuses=False``
    only the evidence (through the p-values within the claim), for a section shown before the
    family is complete.
    """
    def number(x, sign=""):
        return "" if x is None or not np.isfinite(x) else significant(x * scale, digits, sign) + unit

    rows = []
    for row in table.itertuples():
        rows.append({
            "comparison": row.comparison, "units": row.n, "effect": number(row.effect, "+"),
            f"{CONFIDENCE:.0%} interval": (f"{number(row.low)} to {number(row.high)}"
                                            if np.isfinite(row.low) else ""),
            "δ": number(row.delta),
            "p against δ (claim / family)": f"{_p(row.p_size_claim)} / {_p(row.p_size_family)}",
            "p against no effect (claim / family)": f"{_p(row.p_direction_claim)} / {_p(row.p_direction_family)}",
            "status": row.status + (f" ({row.reason})" if row.status == "untestable" else
                                    " (reversed)" if row.reversed else "")})
    shown = pd.DataFrame(rows)
    if not statuses and len(shown):
        shown = shown.drop(columns="status").rename(columns=lambda c: c.replace(" (claim / family)", " (claim)"))
        for column in ("p against δ (claim)", "p against no effect (claim)"):
            shown[column] = shown[column].str.split(" / ").str[0]
    return shown
