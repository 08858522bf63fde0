"""Chapter 4's cost: a training step with each loss against the plain step, on the book's workload.

Two workloads, as the book preset trains them (5,000 real MNIST digits, 250 training images,
one torch thread per network):

- the tda-nn-analysis and torch-topological arms: the EfficientNet family (``--size``,
  default ``small``), random batches of 64; arms: the baseline, a second baseline (the
  control: it must come out at 1x), Omega on the logits (dims 0-1), torch-topological's total
  persistence (when installed), the logit-norm penalty and label smoothing;
- Hofer et al.'s arms: their MNIST network, batches of 8 groups of 16; arms: their baseline,
  a second baseline (control) and the densified loss.

Each arm keeps its own network in training; one unit of work is ``--steps`` training steps
(batch, augmentation, forward, loss, backward, update). Units are interleaved over
``--rounds`` rounds in a rotating order (``harness.interleave``), each arm's time is divided by
its baseline's in the same round, and the ratios are reported as medians with their range.
Targets: every loss's step at most 1.5x its baseline's; the control between 1/1.2 and 1.2.
Run:
``python benchmarks/bench_regularizers.py [--rounds 5] [--steps 3] [--size small]``.
"""

from __future__ import annotations

import argparse

import torch

from harness import describe, interleave, load, ratios, target_line
from tdnn_utils import regularization as R
from tdnn_utils import regularizers

TARGET = 1.5
#: The baseline-vs-baseline control must come out within this factor of 1.
CONTROL = 1.2


def workloads(size: str):
    data = R.DataSpec("mnist-5k", n_train=250, n_test=None)
    X, y, _, _ = data.split(0)
    recipe = R.Recipe(steps=1000, lr=0.05, batch_size=64, weight_decay=1e-3, shift=2)
    hofer = R.Recipe(steps=1000, lr=0.5, weight_decay=1e-3, shift=2, n_groups=8, group_size=16)
    random_arms = {"baseline": R.Arm(), "baseline again (control)": R.Arm(),
                   "Ω α=0.01": R.Arm("total_persistence", 0.01)}
    if regularizers.torch_topological_available():
        random_arms["torch-topological α=0.01"] = R.Arm("torch_topological", 0.01)
    random_arms["logit norm μ=0.2"] = R.Arm("logit_norm", 0.2)
    random_arms["label smoothing ε=0.2"] = R.Arm("label_smoothing", 0.2)
    hofer_arms = {"baseline": R.Arm(batches="hofer"), "baseline again (control)": R.Arm(batches="hofer"),
                  "densified λ=0.1 β=0.7": R.Arm("densified", 0.1, 0.7, "hofer")}
    return {f"efficientnet ({size}), random batches of 64": (random_arms, "efficientnet", size, recipe, X, y),
            "Hofer et al.'s MNIST network, 8 groups of 16": (hofer_arms, "hofer-mnist", "", hofer, X, y)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="training steps per arm and round")
    parser.add_argument("--size", default="small", help="EfficientNet size: tiny, small or standard")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"one torch thread; {args.rounds} rounds of {args.steps} steps per arm; {load()}")
    lines = []
    for workload, (arms, family, size, recipe, X, y) in workloads(args.size).items():
        runs = {name: R._Run(arm, family, size, recipe, X, y, seed=0, device="cpu") for name, arm in arms.items()}

        def unit(run):
            return lambda: [run.step() for _ in range(args.steps)]

        for run in runs.values():  # a warm-up unit each, then the pairing clocks start from 0
            unit(run)()
            if run.objective.loss is not None and hasattr(run.objective.loss, "persistence_seconds"):
                run.objective.loss.persistence_seconds = 0.0
        times = interleave({name: unit(run) for name, run in runs.items()}, rounds=args.rounds, warmup=0)
        print(f"{workload}:")
        for name, run in runs.items():
            per_step = [t / args.steps for t in times[name]]
            share = run.objective.persistence_seconds / sum(times[name]) if sum(times[name]) else 0.0
            line = f"   {name:28s} step {describe(per_step, ' s', 3)}"
            if name != "baseline":
                line += f"; / baseline: {describe(ratios(times[name], times['baseline']))}"
            print(line + (f"; {share:.0%} of the time in persistence pairings" if share else ""))
            if name == "baseline":
                continue
            ratio = ratios(times[name], times["baseline"])
            if name.startswith("baseline again"):  # the control: two identical arms must time alike
                lines.append(target_line(f"{family} {name} / baseline", ratio, at_least=round(1 / CONTROL, 2)))
                lines.append(target_line(f"{family} {name} / baseline", ratio, at_most=CONTROL))
            else:
                lines.append(target_line(f"{family} {name} step / baseline step", ratio, at_most=TARGET))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
