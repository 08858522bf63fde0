"""Chapter 2's sweep on this machine: time per network at 1 and 2 workers, and where it goes.

Trains and measures the same networks (D-I, the paper's 9×15 network, relu / leaky relu /
tanh, a few seeds) twice without a cache, with 1 worker and with 2, and prints the wall time
per network, the speed-up of 2 workers over 1, and the share of the workers' time spent in
training and in topology. Run: ``make benchmark`` or ``python benchmarks/bench_sweep.py``.
"""

import argparse
import time

import harness  # noqa: F401  (one thread per process)
from tdnn_utils.sweep import Protocol, architectures, grid, naitzat_problem, run_sweep


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="networks per activation")
    parser.add_argument("--n-train", type=int, default=None, help="D-I training points (paper's 7,800)")
    args = parser.parse_args(argv)

    problem = naitzat_problem("D-I", n_train=args.n_train, k=13, maxdim=1)
    specs = grid(["D-I"], architectures(), ["relu", "leaky_relu", "tanh"], args.seeds)
    protocol = Protocol(steps=15_000, lr=0.01, lr_halving_every=2_500, max_attempts=2, device="cpu")
    print(f"D-I: {len(problem.X_train):,} training points, {len(problem.X_measure):,} measured, "
          f"k = {problem.k}; {len(specs)} networks (9×15; relu, leaky_relu, tanh)")
    wall = {}
    for n_jobs in (1, 2):
        start = time.perf_counter()
        result = run_sweep(specs, {"D-I": problem}, protocol, n_jobs=n_jobs, progress=False)
        wall[n_jobs] = time.perf_counter() - start
        train = result.networks["train_seconds"].sum()
        topo = result.networks["topology_seconds"].sum()
        print(f"{n_jobs} worker{'s' if n_jobs > 1 else ' '}: {wall[n_jobs]:7.1f} s wall, "
              f"{wall[n_jobs] / len(specs):5.2f} s per network; of the workers' time "
              f"{train / (train + topo):.0%} training, {topo / (train + topo):.0%} topology "
              f"({int(result.networks['perfect'].sum())} of {len(specs)} networks at 100%)")
    print(f"speed-up of 2 workers over 1: {wall[1] / wall[2]:.2f}x")


if __name__ == "__main__":
    main()
