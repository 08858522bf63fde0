"""Per-layer Betti numbers at the paper's sizes: seconds per (layer, class), ours against giotto-tda's dense path.

Workloads (the paper's homology subsets of the authors' published files, every layer of one
trained network, each class):

- D-II: 11,250 points (5,625 per class), k = 34, 2.5 hops, dimensions 0-1, a 9 x 25 network;
- D-III: 9,450 points (4,500 and 4,950 per class), k = 34, 2.5 hops, dimensions 0-2, 9 x 25.

Ours: :func:`tdnn_utils.topology.betti_numbers` with each engine (sparse hop counts up to the
scale; coincident points merged). Reference: giotto-tda's ``VietorisRipsPersistence`` on the
dense hop-count matrix (scipy's breadth-first search; unreachable pairs a large constant),
thresholded at the scale: the dense path a user of giotto-tda would write. The reference is
slow, so it runs on the input and on ``--reference-layers`` hidden layers only; ratios are
per (layer, class), both arms interleaved in each round. Targets: ours at most 1 s per
(layer, class) on D-II (median over layers and classes); identical Betti numbers.

Needs the published files (``tdnn_utils.datasets.naitzat_published``: ``data/topnn/`` or
``TDNN_DATA``). Run: ``python benchmarks/bench_betti_layers.py [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from harness import describe, load, ratios, summary, target_line

SCALE = 2.5
K = 34


def trained_layers(name: str, steps: int, seed: int = 0):
    """Every layer's activations on the homology subset, for one network trained briefly."""
    from tdnn_utils import datasets
    from tdnn_utils.models import FFNet, layer_activations
    from tdnn_utils.training import fit, seed_everything

    X, y = datasets.naitzat_published_homology_subset(name)
    seed_everything(seed)
    model = FFNet([3] + [25] * 9 + [2], "relu")
    history = fit(model, X, y, steps=steps, lr=0.02, lr_halving_every=2500, stop_at_perfect=True,
                  device="cpu", progress=False)
    return layer_activations(model, X), y, history.final_accuracy


def reference_betti(points, maxdim):
    from gtda.homology import VietorisRipsPersistence
    from scipy.sparse.csgraph import shortest_path

    from tdnn_utils.topology import distinct_points, knn_graph

    points, _ = distinct_points(points)
    hops = shortest_path(knn_graph(points, min(K, len(points) - 1)).astype(float), unweighted=True)
    hops[np.isinf(hops)] = 10 * len(points)
    vr = VietorisRipsPersistence(metric="precomputed", homology_dimensions=tuple(range(maxdim + 1)),
                                 max_edge_length=SCALE, reduced_homology=False,
                                 infinity_values=np.inf, n_jobs=1)
    diagram = vr.fit_transform(hops[None])[0]
    return [int(((diagram[diagram[:, 2] == d][:, 0] <= SCALE)
                 & (diagram[diagram[:, 2] == d][:, 1] > SCALE)).sum()) for d in range(maxdim + 1)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=2000, help="training budget of the network")
    parser.add_argument("--reference-layers", type=int, default=2,
                        help="hidden layers also measured with the slow dense reference")
    args = parser.parse_args(argv)
    from tdnn_utils import engines, topology

    print(f"{load()}; engines {', '.join(engines.available())}")
    d2_medians = []
    for name, maxdim in (("D-II", 1), ("D-III", 2)):
        layers, labels, accuracy = trained_layers(name, args.steps)
        print(f"{name}: {len(labels):,} points, {len(layers)} layers, k = {K}, {SCALE} hops, "
              f"dimensions 0-{maxdim}; network training accuracy {accuracy:.4f}")
        names = list(layers)
        reference_depths = {0, *range(1, 1 + args.reference_layers)}
        per_engine = {engine: [] for engine in engines.ENGINES}
        pair_ratios, agree = [], True
        for depth, layer in enumerate(names):
            for label in np.unique(labels):
                points = layers[layer][labels == label]
                answers = {}

                def ours(engine):
                    def run():
                        answers[engine] = topology.betti_numbers(points, SCALE, k=K, maxdim=maxdim,
                                                                 engine=engine).tolist()
                    return run

                arms = {engine: ours(engine) for engine in engines.ENGINES}
                if depth in reference_depths:
                    arms["giotto-tda dense"] = lambda: answers.__setitem__("reference", reference_betti(points, maxdim))
                times = {}
                for round_ in range(args.rounds):
                    for arm_name in (list(arms) if round_ % 2 == 0 else list(arms)[::-1]):
                        start = time.perf_counter()
                        arms[arm_name]()
                        times.setdefault(arm_name, []).append(time.perf_counter() - start)
                for engine in engines.ENGINES:
                    per_engine[engine].append(float(np.median(times[engine])))
                best = min(engines.ENGINES, key=lambda e: np.median(times[e]))
                line = (f"   {layer:9s} class {label}: {len(points):,} points -> β {answers[best]}; "
                        + ", ".join(f"{e} {np.median(times[e]):.2f} s" for e in engines.ENGINES))
                if "reference" in answers:
                    agree &= answers["reference"] == answers[best]
                    pair_ratios += list(ratios(times["giotto-tda dense"], times[best]))
                    line += f", giotto-tda dense {np.median(times['giotto-tda dense']):.2f} s"
                agree &= answers["giotto-ph"] == answers["gudhi"]
                print(line, flush=True)
        for engine in engines.ENGINES:
            print(f"   {engine}: {describe(per_engine[engine], ' s', 2)} per (layer, class)")
        if pair_ratios:
            print(f"   giotto-tda dense / ours (faster engine): {describe(pair_ratios)}")
        fastest = min(engines.ENGINES, key=lambda e: summary(per_engine[e])[0])
        if name == "D-II":
            d2_medians = per_engine[fastest]
        print(f"target {name}: identical Betti numbers (both engines and the reference): "
              f"{'met' if agree else 'NOT met'}")
    print(target_line("D-II seconds per (layer, class), faster engine,", d2_medians, at_most=1.0, unit=" s"))


if __name__ == "__main__":
    main()
