"""The two persistence engines on the book's workloads: seconds per call, gudhi / giotto-ph.

Workloads (each timed once per round for both engines, rounds interleaved; both engines must
return the same answer, which is checked):

- fixed scale, D-II: Betti numbers (dimensions 0-1) of one class of D-II's homology subset
  (about 5,600 points), k = 34 neighbours, 2.5 hops, the whole filtration handed to the engine
  (:func:`tdnn_utils.topology.betti_numbers_direct`; the book's readings collapse it first and
  hand the engine what is left: ``bench_readings.py``);
- fixed scale, D-III: the same for a class of D-III, dimensions 0-2, k = 20;
- full persistence: 500 Gaussian points in 5-D, dimensions 0-1 (Chapter 3's per-block summaries);
- functional graph: 1,000 units, 1 - |r| capped at 0.3, dimensions 0-1 (Corneanu et al.).

The target is only that each engine answers every workload; the ratios say which to pick.
Run: ``python benchmarks/bench_engines.py [--rounds 3]``.
"""

from __future__ import annotations

import argparse

import numpy as np

from harness import describe, interleave, load, ratios
from tdnn_utils import datasets, engines, functional, topology


def workloads():
    rng = np.random.default_rng(0)
    d2, y2 = datasets.naitzat_homology_subset("D-II")
    d3, y3 = datasets.naitzat_homology_subset("D-III")
    gaussian = rng.normal(size=(500, 5))
    signals = np.tanh(rng.normal(size=(200, 30)) @ rng.normal(size=(30, 1000)))
    return {
        f"fixed scale, D-II class 0 ({(y2 == 0).sum():,} points, dims 0-1)":
            lambda engine: topology.betti_numbers_direct(d2[y2 == 0], 2.5, k=34, maxdim=1, engine=engine).tolist(),
        f"fixed scale, D-III class 1 ({(y3 == 1).sum():,} points, dims 0-2)":
            lambda engine: topology.betti_numbers_direct(d3[y3 == 1], 2.5, k=20, maxdim=2, engine=engine).tolist(),
        "full persistence, 500 points in 5-D (dims 0-1)":
            lambda engine: [len(d) for d in topology.persistence(gaussian, maxdim=1, engine=engine)],
        "functional graph, 1,000 units, cap 0.3 (dims 0-1)":
            lambda engine: [len(d) for d in engines.rips(functional.correlation_distance(signals),
                                                         maxdim=1, thresh=0.3, engine=engine)],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"engines available: {', '.join(engines.available())}; {load()}")
    for name, work in workloads().items():
        answers = {}

        def arm(engine):
            return lambda: answers.setdefault(engine, work(engine))

        times = interleave({engine: arm(engine) for engine in engines.ENGINES}, rounds=args.rounds)
        same = answers["giotto-ph"] == answers["gudhi"]
        print(f"{name}:")
        for engine in engines.ENGINES:
            print(f"   {engine:9s} {describe(times[engine], ' s')}")
        print(f"   gudhi / giotto-ph: {describe(ratios(times['gudhi'], times['giotto-ph']))}; "
              f"same answer: {same} {answers['giotto-ph']}")
        print(f"target both engines give the same answer: {'met' if same else 'NOT met'}")


if __name__ == "__main__":
    main()
