"""Abandon rules for training attempts: what one would do to recorded attempts, and whether it is safe.

Chapter 2 keeps only networks that reach exactly 100% training accuracy, and most of its
training time goes into attempts that never do. An :class:`~tdnn_utils.ensemble.AbandonRule`
ends an attempt at a patience check where its best accuracy so far is below a threshold. An
attempt's training depends only on its seed, so a rule changes which networks are kept only
where it ends an attempt that would have reached 100%.

- :func:`evaluate_rule`: what a rule would have done to attempts recorded without one.
- :func:`rule_from_successes`: the rule that cuts none of a pilot's successes, with a margin.
- :func:`cross_validate_rule`: rules set from some networks' attempts, judged on the others':
  how many successes a rule so set would cut, and how many steps it would save;
  :func:`rules_by_configuration`: the rule each configuration's attempts set, for a later run.
- :func:`replay_abandoned`: train the attempts a rule ended again, without it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .ensemble import AbandonRule, fit_ensemble
from .sweep import Problem, Protocol
from .validation import check_positive_int, check_positive_number

__all__ = ["RULE_COLUMNS", "CROSS_COLUMNS", "evaluate_rule", "rule_from_successes",
           "cross_validate_rule", "rules_by_configuration", "at_check", "readable", "describe_cross_validation", "replay_abandoned"]

RULE_COLUMNS = ["attempts", "abandoned", "wrongly_abandoned", "steps", "steps_saved"]


def evaluate_rule(attempts: pd.DataFrame, rule: AbandonRule,
                  by: Sequence[str] = ("problem", "architecture", "activation")) -> pd.DataFrame:
    """What ``rule`` would have done to recorded attempts, per group of ``by``.

    ``attempts`` is a sweep's :attr:`SweepResult.attempts` (recorded without an abandon
    rule). At each recorded patience check, in order, an attempt is abandoned where
    ``rule.abandons(check, best accuracy so far)``; a check at which the patience rule ended
    the attempt anyway changes nothing.

    Returns one row per group: ``attempts`` (how many), ``abandoned`` (how many the rule ends
    early), ``wrongly_abandoned`` (of those, how many reached 100% as recorded), ``steps``
    (their recorded training steps in all) and ``steps_saved`` (the steps after the rule's
    check, summed over the abandoned attempts). The fresh starts that abandoned attempts
    would make are not simulated: a saved step may be spent on them.
    """
    if not isinstance(rule, AbandonRule):
        raise ValueError(f"rule={rule!r} must be an AbandonRule")
    lacking = [c for c in (*by, "steps", "ended", "reached_perfect", "check_steps", "check_best")
               if c not in attempts.columns]
    if lacking:
        raise ValueError(f"attempts lacks columns {lacking}; give a SweepResult.attempts table")
    if (attempts["ended"] == "rule").any():
        raise ValueError("some attempts were ended by an abandon rule, so their later checks are "
                         "missing; evaluate a rule on attempts recorded without one")
    rows = []
    for _, attempt in attempts.iterrows():
        saved = _steps_saved(rule, attempt)
        rows.append({**{c: attempt[c] for c in by}, "attempts": 1, "abandoned": saved is not None,
                     "wrongly_abandoned": saved is not None and bool(attempt["reached_perfect"]),
                     "steps": int(attempt["steps"]), "steps_saved": saved or 0})
    table = pd.DataFrame(rows, columns=[*by, *RULE_COLUMNS])
    if not by:
        return table[RULE_COLUMNS].sum().to_frame().T.astype(int)
    return table.groupby(list(by), sort=False)[RULE_COLUMNS].sum().astype(int).reset_index()


def rule_from_successes(attempts: pd.DataFrame, *, margin: float = 0.02, min_successes: int = 5) -> AbandonRule:
    """An abandon rule that would have cut none of the recorded successes, with a margin.

    ``attempts`` is a sweep's :attr:`SweepResult.attempts` recorded without a rule (a pilot).
    At each patience check c, the threshold is the lowest best-accuracy-so-far that an attempt
    which went on to reach 100% had at that check, less ``margin``; checks that fewer than
    ``min_successes`` successful attempts reached get no threshold (the rule stops there).
    Returns the :class:`~tdnn_utils.ensemble.AbandonRule`; refuses a pilot with too few successes.
    """
    margin = check_positive_number(margin, "margin")
    min_successes = check_positive_int(min_successes, "min_successes")
    _check_pilot(attempts)
    rule = _rule_or_none(attempts, margin, min_successes)
    if rule is None:
        n = sum(len(b) > 0 for b in attempts.loc[attempts["reached_perfect"].astype(bool), "check_best"])
        raise ValueError(f"{n} successful attempt(s) with a first check: fewer than min_successes="
                         f"{min_successes}, so no threshold can be set")
    return rule


def _check_pilot(attempts: pd.DataFrame, columns: Sequence[str] = ("reached_perfect", "check_best", "ended")) -> None:
    """Refuse attempts that lack ``columns`` or that an abandon rule ended (their later checks are missing)."""
    lacking = [c for c in columns if c not in attempts.columns]
    if lacking:
        raise ValueError(f"attempts lacks columns {lacking}; give a SweepResult.attempts table")
    if (attempts["ended"] == "rule").any():
        raise ValueError("some attempts were ended by an abandon rule; derive a rule from attempts recorded without one")


def _rule_or_none(attempts: pd.DataFrame, margin: float, min_successes: int) -> AbandonRule | None:
    """:func:`rule_from_successes`'s rule, or None where too few successes reached a first check."""
    bests = [list(b) for b in attempts.loc[attempts["reached_perfect"].astype(bool), "check_best"]]
    thresholds = []
    for check in range(max(map(len, bests), default=0)):
        seen = [b[check] for b in bests if len(b) > check]
        if len(seen) < min_successes:
            break
        thresholds.append(max(0.0, min(seen) - margin))
    return AbandonRule(tuple(thresholds)) if thresholds else None


def replay_abandoned(attempts: pd.DataFrame, problems: Mapping[str, Problem], protocol: Protocol,
                     hidden: Mapping[str, Sequence[int]]) -> pd.DataFrame:
    """Train every attempt an abandon rule ended again, without the rule: would it have reached 100%?

    ``attempts`` is a sweep's :attr:`SweepResult.attempts` recorded *with* a rule; ``protocol``
    is that sweep's protocol (its ``abandon_rule`` is dropped here); ``hidden`` maps an
    architecture's name to its hidden widths. An attempt's training depends only on its own
    seed, so each replay follows the abandoned attempt step for step and then goes on where the
    rule stopped it. When no replay reaches 100%, the rule kept exactly the networks the sweep
    would have kept without it, bit for bit; a replay that does names a success the rule cut.

    Returns one row per abandoned attempt: its identity, ``steps`` at the rule's stop,
    ``replay_steps``, ``replay_perfect`` and ``replay_ended``.
    """
    abandoned = attempts[attempts["ended"] == "rule"]
    plain = Protocol(**{**asdict(protocol), "abandon_rule": None, "max_attempts": 1})
    rows = []
    for (problem, architecture, activation), group in abandoned.groupby(["problem", "architecture", "activation"],
                                                                       sort=False):
        data = problems[problem]
        widths = [data.n_features, *hidden[architecture], int(data.y_train.max()) + 1]
        members = fit_ensemble(widths, activation, data.X_train, data.y_train, group["attempt_seed"].tolist(),
                               steps=plain.steps, lr=plain.lr, lr_halving_every=plain.lr_halving_every,
                               max_attempts=1, device=plain.device, negative_slope=plain.negative_slope,
                               init=plain.init, patience=plain.patience, batch_size=plain.batch_size,
                               check_every=plain.check_every, lr_decay=plain.lr_decay, progress=False)
        for (_, attempt), member in zip(group.iterrows(), members):
            rows.append({c: attempt[c] for c in ("problem", "architecture", "activation", "seed", "attempt",
                                                 "attempt_seed", "steps")}
                        | {"replay_steps": member.steps, "replay_perfect": bool(member.reached_perfect),
                           "replay_ended": member.attempt_records[-1].ended})
    return pd.DataFrame(rows, columns=["problem", "architecture", "activation", "seed", "attempt", "attempt_seed",
                                       "steps", "replay_steps", "replay_perfect", "replay_ended"])


def _steps_saved(rule: AbandonRule, attempt) -> int | None:
    """The steps ``rule`` saves on one recorded attempt (None: it does not abandon it)."""
    for check, (step, best) in enumerate(zip(attempt["check_steps"], attempt["check_best"]), start=1):
        if rule.abandons(check, best):
            if step == attempt["steps"] and attempt["ended"] == "patience":
                return None  # the patience rule ended it at this check anyway
            return int(attempt["steps"]) - int(step)
    return None


CROSS_COLUMNS = ["attempts", "successes", "abandoned", "wrongly_abandoned", "steps", "steps_saved",
                 "saved_share", "cut_upper", "thresholds"]


def cross_validate_rule(attempts: pd.DataFrame, *, by: Sequence[str] = ("problem", "architecture", "activation"),
                        folds: int = 2, margin: float = 0.02, min_successes: int = 5,
                        confidence: float = 0.95) -> pd.DataFrame:
    """Rules set from some networks' attempts, judged on the other networks' attempts.

    Within each group of ``by``, the networks are dealt into ``folds`` folds by seed
    (``seed % folds``), all attempts of a network in one fold. For each fold, a rule is set
    from the other folds' successes (:func:`rule_from_successes` with ``margin`` and
    ``min_successes``) and applied to this fold's attempts (:func:`evaluate_rule`); where the
    other folds hold too few successes, no rule is set and nothing is abandoned. So every
    attempt is judged by a rule that did not see it: what a rule set from a pilot would do
    to fresh networks.

    ``attempts`` is a sweep's :attr:`~tdnn_utils.sweep.SweepResult.attempts`, recorded without
    an abandon rule. Returns one row per group: ``attempts``, ``successes`` (attempts that
    reached 100%: one per network kept), ``abandoned``, ``wrongly_abandoned`` (successes a rule
    cut: networks whose kept attempt would change), ``steps`` and ``steps_saved`` as
    :func:`evaluate_rule` counts them, ``saved_share`` (steps_saved / steps), ``cut_upper``
    (the one-sided Clopper-Pearson upper bound, at ``confidence``, on the share of successes
    a rule so set cuts) and ``thresholds`` (each fold's rule, an empty tuple for none).
    """
    folds = check_positive_int(folds, "folds", minimum=2)
    if not 0 < float(confidence) < 1:
        raise ValueError(f"confidence={confidence!r} must be between 0 and 1")
    if "seed" not in attempts.columns:
        raise ValueError("attempts lacks the column 'seed' (the network's seed); give a SweepResult.attempts table")
    _check_pilot(attempts, ("reached_perfect", "check_best", "check_steps", "ended", "steps", *by))
    margin = check_positive_number(margin, "margin")
    min_successes = check_positive_int(min_successes, "min_successes")
    rows = []
    for key, group in (attempts.groupby(list(by), sort=False) if by else [((), attempts)]):
        key = key if isinstance(key, tuple) else (key,)
        totals = dict.fromkeys(RULE_COLUMNS, 0)
        thresholds = []
        for fold in range(folds):
            held_out = group["seed"].astype(int) % folds == fold
            rule = _rule_or_none(group[~held_out], margin, min_successes)
            thresholds.append(rule.thresholds if rule else ())
            if rule is not None and held_out.any():
                judged = evaluate_rule(group[held_out], rule, by=()).iloc[0]
                for column in RULE_COLUMNS:
                    totals[column] += int(judged[column])
            else:
                totals["attempts"] += int(held_out.sum())
                totals["steps"] += int(group.loc[held_out, "steps"].sum())
        successes = int(group["reached_perfect"].astype(bool).sum())
        rows.append({**dict(zip(by, key)), **totals, "successes": successes,
                     "saved_share": totals["steps_saved"] / totals["steps"] if totals["steps"] else np.nan,
                     "cut_upper": _upper_bound(totals["wrongly_abandoned"], successes, confidence),
                     "thresholds": tuple(thresholds)})
    return pd.DataFrame(rows, columns=[*by, *CROSS_COLUMNS])


def _upper_bound(events: int, trials: int, confidence: float) -> float:
    """One-sided Clopper-Pearson upper bound on a share seen as ``events`` of ``trials``."""
    if trials == 0:
        return float("nan")
    if events >= trials:
        return 1.0
    return float(stats.beta.ppf(confidence, events + 1, trials - events))


def rules_by_configuration(attempts: pd.DataFrame, *, by: Sequence[str] = ("problem", "activation"),
                           margin: float = 0.02, min_successes: int = 5) -> dict[str, tuple]:
    """The rule each configuration's whole set of attempts sets (:func:`rule_from_successes`):
    ``{"D-II relu": thresholds, ...}``, keyed by the ``by`` values joined with spaces; an
    empty tuple where too few attempts succeeded. What a later run could adopt, at the risk
    :func:`cross_validate_rule` measures."""
    _check_pilot(attempts, ("reached_perfect", "check_best", "ended", *by))
    margin = check_positive_number(margin, "margin")
    min_successes = check_positive_int(min_successes, "min_successes")
    rules = {}
    for key, group in attempts.groupby(list(by), sort=False):
        rule = _rule_or_none(group, margin, min_successes)
        rules[" ".join(map(str, key if isinstance(key, tuple) else (key,)))] = rule.thresholds if rule else ()
    return rules


def at_check(attempts: pd.DataFrame, check: int = 1) -> pd.DataFrame:
    """Each attempt's best accuracy so far at its ``check``-th patience check, and how it ended.

    One row per attempt that was still training at that check (an attempt that reached 100%
    or stopped before it has none): ``problem``, ``activation``, ``configuration`` ("D-II
    relu"), ``step``, ``best`` and ``outcome`` ("reached 100%" or "did not"). What a threshold
    rule at that check sees, beside what it cannot see yet.
    """
    check = check_positive_int(check, "check")
    lacking = [c for c in ("problem", "activation", "reached_perfect", "check_steps", "check_best")
               if c not in attempts.columns]
    if lacking:
        raise ValueError(f"attempts lacks columns {lacking}; give a SweepResult.attempts table")
    rows = [{"problem": a.problem, "activation": a.activation, "configuration": f"{a.problem} {a.activation}",
             "step": int(a.check_steps[check - 1]), "best": float(a.check_best[check - 1]),
             "outcome": "reached 100%" if a.reached_perfect else "did not"}
            for a in attempts.itertuples() if len(a.check_best) >= check]
    return pd.DataFrame(rows, columns=["problem", "activation", "configuration", "step", "best", "outcome"])


def readable(cross: pd.DataFrame) -> pd.DataFrame:
    """:func:`cross_validate_rule`'s table in the columns a reader scans."""
    return pd.DataFrame({
        "data": cross["problem"], "activation": cross["activation"],
        "networks at 100%": cross["successes"], "attempts": cross["attempts"],
        "ended by a rule": cross["abandoned"], "successes cut": cross["wrongly_abandoned"],
        "share of successes cut (95% bound)": ["n/a" if pd.isna(x) else f"at most {x:.0%}" for x in cross["cut_upper"]],
        "steps saved": ["n/a" if pd.isna(x) else f"{x:.0%}" for x in cross["saved_share"]]})


def describe_cross_validation(cross: pd.DataFrame, confidence: float = 0.95) -> str:
    """One paragraph: what rules set from half the networks did to the other half, in all."""
    cut, successes = int(cross["wrongly_abandoned"].sum()), int(cross["successes"].sum())
    steps, saved = int(cross["steps"].sum()), int(cross["steps_saved"].sum())
    if not successes or not steps:
        return "No attempt reached 100%, so no rule could be set or judged."
    ruled = sum(any(fold) for fold in cross["thresholds"])
    if not ruled:
        return ("No half of any configuration held enough successes to set a rule from, so none was judged; "
                "a larger run is needed.")
    upper = _upper_bound(cut, successes, confidence)
    text = (f"Set from one half of each configuration's networks and applied to the other half, both ways, "
            f"the rules would have cut {cut} of the {successes} successes (the share a rule so set cuts: at most "
            f"{upper:.1%}, one-sided {confidence:.0%} bound) and saved {saved / steps:.0%} of the {steps:,} "
            "training steps.")
    if cut:
        return text + (" A rule set from pilots of this size still cuts successes, and each cut success changes "
                       "which network is kept, so the book trains without one.")
    return text + (" None was cut; a rule set from this run's networks could serve a later run, with the share "
                   "above as its stated risk.")
