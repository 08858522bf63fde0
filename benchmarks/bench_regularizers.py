"""Chapter 4's cost: a training step with each topological loss against the plain step.

For the EfficientNet and DenseNet families at the book size (``small``) on scikit-learn's
digits, batch 64: the mean time of one training step (forward, loss, backward, Adam update)
for the baseline and for each loss of :mod:`tdnn_utils.regularizers` (total persistence of
the logits in dimensions 0-1, Hofer et al.'s densified loss on the features with groups of
16, torch-topological's total persistence), and the share of the step spent finding the
persistence pairing. Prints the ratios; the target is at most 1.5 times the baseline step.
"""

import argparse

import torch

from tdnn_utils import images, regularization

TARGET = 1.5


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps per arm (after 3 warm-up steps)")
    parser.add_argument("--size", default="small", help="model size: tiny, small or standard")
    args = parser.parse_args(argv)
    pixels, labels = images.load_dataset("digits")
    arms = regularization.arms(alphas=[0.01], densified=[(0.1, 0.7)], torch_topological=[0.01])
    print(f"torch threads: {torch.get_num_threads()}, batch 64, {args.steps} steps per arm, size {args.size}")
    print(f"{'family':13s} {'arm':28s} {'step (ms)':>9s} {'/ baseline':>10s} {'in persistence':>15s}")
    worst = 0.0
    for family in ("efficientnet", "densenet"):
        baseline = None
        for arm in arms:
            timing = regularization.step_seconds(arm, family, args.size, pixels[:1024], labels[:1024],
                                                 batch_size=64, steps=args.steps)
            if arm.name.startswith("baseline"):
                baseline = timing["step_seconds"] if arm.name == "baseline" else baseline
            ratio = timing["step_seconds"] / baseline
            if not arm.name.startswith("baseline"):
                worst = max(worst, ratio)
            print(f"{family:13s} {arm.name:28s} {1000 * timing['step_seconds']:9.1f} {ratio:10.2f} "
                  f"{timing['persistence_share']:15.0%}")
    print(f"slowest regularised step / baseline: {worst:.2f}x (target <= {TARGET}x): "
          f"{'met' if worst <= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
