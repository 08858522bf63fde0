"""Networks at 100% per CPU minute at the paper's density, with an abandon rule on and off.

Chapter 2 keeps only networks that reach exactly 100% training accuracy, and most of its
training time goes into attempts that never do. An abandon rule
(:class:`tdnn_utils.ensemble.AbandonRule`) ends an attempt at a patience check where its best
accuracy is below what every success had there. The book trains without one (an earlier rule,
set from a small pilot, cut successes); the rule measured here is the one Chapter 2's own
networks set for ReLU on each data set (``rule_from_run`` in
``book/results/02_activation_functions.json``, :func:`tdnn_utils.attempt_rules.rules_by_configuration`),
tried on fresh seeds (from ``--first-seed``, none of the chapter's). Per data set (D-II and
D-III at the paper's density: every 4th point of the authors' files, the book preset's
network, learning rate and trainer), the same seeds are trained with the rule and without,
interleaved: the networks that reach 100% and the CPU time it took, so the printed rate is
networks at 100% per CPU minute of the benchmark's one thread. An attempt's training depends
only on its seed, so the rule can only end attempts early, and change which networks are kept
only where it cuts an attempt that would have reached 100% (then the line says so).

Run: ``python benchmarks/bench_attempts.py [--seeds 3 --attempts 2 --rounds 1]`` (part of
``make benchmark``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import yaml

import harness
from tdnn_utils import simplification
from tdnn_utils.ensemble import AbandonRule, fit_ensemble

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ROOT / "notebooks" / "presets.yml"
RESULTS = ROOT / "book" / "results" / "02_activation_functions.json"


def chapter_values() -> dict:
    """Chapter 2's recorded values ({} before the chapter ran)."""
    return json.loads(RESULTS.read_text())["values"] if RESULTS.is_file() else {}


def book_setups() -> dict:
    settings = yaml.safe_load(PRESETS.read_text())["book"]["02_activation_functions"]["problems"]
    return {name: simplification.Setup.from_mapping(name, s) for name, s in settings.items() if name in ("D-II", "D-III")}


def train(setup: simplification.Setup, X, y, seeds, attempts: int, rule: AbandonRule | None):
    """(networks at 100%, CPU seconds, endings) for ``seeds`` with ``rule`` (None: without)."""
    protocol = setup.protocol()
    start = time.thread_time()
    members = fit_ensemble([3, *setup.hidden, 2], "relu", X, y, seeds, steps=protocol.steps, lr=protocol.lr,
                           lr_halving_every=protocol.lr_halving_every, lr_decay=protocol.lr_decay,
                           check_every=protocol.check_every, patience=protocol.patience, init=protocol.init,
                           abandon_rule=rule, max_attempts=attempts,
                           device="cpu", progress=False)
    seconds = time.thread_time() - start
    endings = [record.ended for member in members for record in member.attempt_records]
    return [m.attempt_seed for m in members if m.reached_perfect], seconds, endings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="networks per arm")
    parser.add_argument("--attempts", type=int, default=2, help="attempts per network")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=200, help="the first seed (the chapter's are below 100)")
    args = parser.parse_args(argv)
    print(f"{harness.load()}; relu, {args.seeds} seeds x up to {args.attempts} attempts per arm, "
          f"{args.rounds} round(s); CPU time of one thread")
    values = chapter_values()
    rules = values.get("rule_from_run", {})
    if "rule_cv" in values:
        cv = values["rule_cv"]
        print(f"Chapter 2's own attempts, rules set from half of each configuration's networks and judged on the "
              f"other half: {cv['successes cut']} of {cv['successes']} successes cut, "
              f"{cv['steps saved'] / cv['steps']:.0%} of {cv['steps']:,} steps saved"
              + (" (a rule so set changes kept networks, so the book trains without one)" if cv["successes cut"] else ""))
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    for name, setup in book_setups().items():
        thresholds = rules.get(f"{name} relu")
        if not thresholds:
            print(f"{name}: Chapter 2 has set no rule for ReLU (run it first); nothing to compare")
            continue
        rule = AbandonRule(tuple(thresholds))
        X, y = simplification.points(setup)["train"]
        found = {}

        def arm(with_rule):
            def run():
                found[with_rule] = train(setup, X, y, seeds, args.attempts, rule if with_rule else None)
                return found[with_rule][1]
            return run

        rates = {True: [], False: []}
        for _ in range(args.rounds):
            harness.interleave({"rule": arm(True), "no rule": arm(False)}, rounds=1, warmup=0,
                               clock=time.thread_time)
            for with_rule in (True, False):
                kept, seconds, _ = found[with_rule]
                rates[with_rule].append(60 * len(kept) / seconds if seconds else np.nan)
        kept_rule, seconds_rule, endings = found[True]
        kept_plain, seconds_plain, _ = found[False]
        cut = sorted(set(kept_plain) - set(kept_rule))
        print(f"{name} ({len(X):,} training points, {setup.architecture}, lr {setup.lr}, rule "
              f"{[round(t, 3) for t in rule.thresholds]}, seeds {seeds[0]}-{seeds[-1]}):")
        for with_rule, label, kept, seconds in ((False, "no rule", kept_plain, seconds_plain),
                                                (True, "rule", kept_rule, seconds_rule)):
            print(f"   {label:8s} {len(kept)} networks at 100% in {seconds / 60:.2f} CPU min: "
                  f"{harness.describe(rates[with_rule], ' per min')}")
        print(f"   attempts the rule ended: {endings.count('rule')}; successes it cut: {len(cut)}"
              + (f" (attempt seeds {cut})" if cut else ""))
        print(f"   networks at 100% per CPU minute, rule / no rule: "
              f"{np.nanmedian(rates[True]) / np.nanmedian(rates[False]):.2f}x" if np.nanmedian(rates[False]) else
              "   no network reached 100% without the rule: no ratio")


if __name__ == "__main__":
    main()
