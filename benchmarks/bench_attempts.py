"""Networks at 100% per CPU minute at the paper's density, with Chapter 2's abandon rule on and off.

Chapter 2 keeps only networks that reach exactly 100% training accuracy, and most of its
training time goes into attempts that never do. The abandon rule (``abandon_below`` in the
book preset's Chapter 2 setups, :class:`tdnn_utils.ensemble.AbandonRule`) ends an attempt at
a check where its best accuracy is below what every pilot success had there. Per data set
(D-II and D-III at the paper's density: every 4th point of the authors' files, the book
preset's network, learning rate and trainer), the same seeds are trained with the rule and
without, interleaved: the networks that reach 100% and the CPU time it took, so the printed
rate is networks at 100% per CPU minute of the benchmark's one thread. An attempt's training
depends only on its seed, so the rule can only end attempts early, and change which networks
are kept only where it cuts an attempt that would have reached 100% (then the line says so).

Run: ``python benchmarks/bench_attempts.py [--seeds 3 --attempts 2 --rounds 1]`` (part of
``make benchmark``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import yaml

import harness
from tdnn_utils import simplification
from tdnn_utils.ensemble import fit_ensemble

PRESETS = Path(__file__).resolve().parents[1] / "notebooks" / "presets.yml"


def book_setups() -> dict:
    settings = yaml.safe_load(PRESETS.read_text())["book"]["02_activation_functions"]["problems"]
    return {name: simplification.Setup.from_mapping(name, s) for name, s in settings.items() if name in ("D-II", "D-III")}


def train(setup: simplification.Setup, X, y, seeds, attempts: int, rule: bool):
    """(networks at 100%, CPU seconds, endings) for ``seeds`` with or without the setup's rule."""
    protocol = setup.protocol()
    start = time.thread_time()
    members = fit_ensemble([3, *setup.hidden, 2], "relu", X, y, seeds, steps=protocol.steps, lr=protocol.lr,
                           lr_halving_every=protocol.lr_halving_every, lr_decay=protocol.lr_decay,
                           check_every=protocol.check_every, patience=protocol.patience, init=protocol.init,
                           abandon_rule=protocol.abandon_rule if rule else None, max_attempts=attempts,
                           device="cpu", progress=False)
    seconds = time.thread_time() - start
    endings = [record.ended for member in members for record in member.attempt_records]
    return [m.attempt_seed for m in members if m.reached_perfect], seconds, endings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="networks per arm")
    parser.add_argument("--attempts", type=int, default=2, help="attempts per network")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"{harness.load()}; relu, {args.seeds} seeds x up to {args.attempts} attempts per arm, "
          f"{args.rounds} round(s); CPU time of one thread")
    for name, setup in book_setups().items():
        if not setup.abandon_below:
            print(f"{name}: the book preset sets no abandon rule; nothing to compare")
            continue
        X, y = simplification.points(setup)["train"]
        found = {}

        def arm(rule):
            def run():
                found[rule] = train(setup, X, y, list(range(args.seeds)), args.attempts, rule)
                return found[rule][1]
            return run

        rates = {True: [], False: []}
        for _ in range(args.rounds):
            times = harness.interleave({"rule": arm(True), "no rule": arm(False)}, rounds=1, warmup=0,
                                       clock=time.thread_time)
            for rule, label in ((True, "rule"), (False, "no rule")):
                kept, seconds, _ = found[rule]
                rates[rule].append(60 * len(kept) / seconds if seconds else np.nan)
        kept_rule, seconds_rule, endings = found[True]
        kept_plain, seconds_plain, _ = found[False]
        cut = sorted(set(kept_plain) - set(kept_rule))
        print(f"{name} ({len(X):,} training points, {setup.architecture}, lr {setup.lr}, rule {setup.abandon_below}):")
        for rule, label, kept, seconds in ((False, "no rule", kept_plain, seconds_plain),
                                           (True, "rule", kept_rule, seconds_rule)):
            print(f"   {label:8s} {len(kept)} networks at 100% in {seconds / 60:.2f} CPU min: "
                  f"{harness.describe(rates[rule], ' per min')}")
        print(f"   attempts the rule ended: {endings.count('rule')}; successes it cut: {len(cut)}"
              + (f" (attempt seeds {cut})" if cut else ""))
        print(f"   networks at 100% per CPU minute, rule / no rule: "
              f"{np.nanmedian(rates[True]) / np.nanmedian(rates[False]):.2f}x" if np.nanmedian(rates[False]) else
              "   no network reached 100% without the rule: no ratio")


if __name__ == "__main__":
    main()
