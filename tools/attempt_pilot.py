"""The pilot behind Chapter 2's D-III learning rate (and its former abandon rule): attempt histories at the paper's density.

Trains ``--seeds`` networks per activation, one attempt each, with the authors' trainer
(full batch, Glorot, Adam, learning rate decayed continuously by half every 2,500 steps,
accuracy read every 1,000 steps, patience 1,000, 12,000 steps) on every 4th point of the
authors' D-II and D-III files, and writes every attempt's record (steps, why it ended, the
accuracy and the best accuracy so far at each check) to ``--out``. The rule is then
``tdnn_utils.attempt_rules.rule_from_successes`` of those records (printed with what it would have
done to them, :func:`tdnn_utils.attempt_rules.evaluate_rule`).

Run: ``python tools/attempt_pilot.py [--seeds 10] [--out book/results/02_attempt_pilot.json]``
(about 40 CPU minutes with the defaults).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch

from tdnn_utils import datasets
from tdnn_utils.ensemble import fit_ensemble
from tdnn_utils.attempt_rules import evaluate_rule, rule_from_successes

#: (data set, hidden width, learning rate): the book preset's Chapter 2 networks.
RUNS = (("D-II", 25, 0.02), ("D-III", 15, 0.005))
ACTIVATIONS = ("relu", "leaky_relu", "tanh")


def pilot(seeds: int) -> pd.DataFrame:
    rows = []
    for name, width, lr in RUNS:
        X, y = datasets.naitzat_published(name)
        X, y = X[::4], y[::4]
        for activation in ACTIVATIONS:
            start = time.perf_counter()
            members = fit_ensemble([3] + [width] * 9 + [2], activation, X, y, list(range(seeds)), steps=12_000,
                                   lr=lr, lr_halving_every=2_500, lr_decay="continuous", check_every=1_000,
                                   patience=1_000, max_attempts=1, init="glorot", device="cpu", progress=False)
            rows += [{"problem": name, "architecture": f"9×{width}", "activation": activation, "lr": lr,
                      **record.as_dict()} for member in members for record in member.attempt_records]
            print(f"{name} {activation}: {sum(m.reached_perfect for m in members)} of {seeds} at 100% "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("book/results/02_attempt_pilot.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    attempts = pilot(args.seeds)
    args.out.write_text(json.dumps(attempts.to_dict("records"), indent=1) + "\n")
    rule = rule_from_successes(attempts)
    print(f"wrote {args.out}; the rule from its successes: {rule}")
    print(evaluate_rule(attempts, rule).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
