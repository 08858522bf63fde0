"""Betti readings at the book's and the paper's density: the collapsed path against the direct one.

A reading is the Betti numbers of one class in one layer of one trained network (hop metric,
2.5 hops). Workloads, on the authors' published files:

- the paper's density: D-II's homology subset (5,625 points a class, k = 34, dimensions 0-1,
  a 9 x 25 network) and D-III's (4,500 and 4,950 points, k = 34, dimensions 0-2, 9 x 15);
- the book's former density: D-II on every 24th point (937 a class, k = 6).

Arms, interleaved in every round: ``collapsed`` (:func:`tdnn_utils.topology.betti_numbers`:
neighbours from a KD-tree, the 2-hop graph, strong and edge collapses, the engine on what is
left); ``direct <engine>`` (:func:`tdnn_utils.topology.betti_numbers_direct`, the previous path:
the whole filtration up to the scale handed to the engine); on each data set's input, giotto-tda's
dense path (``VietorisRipsPersistence`` on the dense hop matrix); and three k of one cloud read
together (:func:`tdnn_utils.topology.betti_numbers_at_ks`) against three separate readings.
giotto-ph's direct path on dimensions 0-2 takes about 20 s a reading, so D-III's direct arm is
gudhi's alone (``bench_engines.py`` compares the two engines there). Targets: a reading at the paper's density in at most a quarter of the faster direct
engine's time (per-round ratio, median over readings); identical Betti numbers everywhere.

Needs the published files (``data/topnn/`` or ``TDNN_DATA``). Run:
``python benchmarks/bench_readings.py [--rounds 2]``.
"""

from __future__ import annotations

import argparse

import numpy as np

from harness import describe, interleave, load, ratios, target_line

SCALE = 2.5
DEPTHS = (0, 3, 6, -1)  # the input, two hidden layers, the logits


def trained_layers(name: str, hidden: list[int], every: int, steps: int, seed: int = 0):
    """Every layer's activations on every ``every``-th point, for one network trained briefly."""
    from tdnn_utils import datasets
    from tdnn_utils.models import FFNet, layer_activations
    from tdnn_utils.training import fit, seed_everything

    X, y = datasets.naitzat_published(name)
    X, y = X[::every], y[::every]
    seed_everything(seed)
    model = FFNet([3, *hidden, 2], "relu")
    history = fit(model, X, y, steps=steps, lr=0.02, lr_halving_every=2500, stop_at_perfect=True,
                  device="cpu", progress=False)
    layers = layer_activations(model, X)
    names = list(layers)
    return {names[d]: layers[names[d]] for d in DEPTHS}, y, history.final_accuracy


def dense_reference(points, k, maxdim):
    """giotto-tda on the dense hop-count matrix, thresholded at the scale."""
    from gtda.homology import VietorisRipsPersistence
    from scipy.sparse.csgraph import shortest_path

    from tdnn_utils.topology import distinct_points, knn_graph

    points, _ = distinct_points(points)
    hops = shortest_path(knn_graph(points, k).astype(float), unweighted=True)
    hops[np.isinf(hops)] = 10 * len(points)
    persistence = VietorisRipsPersistence(metric="precomputed", homology_dimensions=tuple(range(maxdim + 1)),
                                          max_edge_length=SCALE, reduced_homology=False,
                                          infinity_values=np.inf, n_jobs=1)
    diagram = persistence.fit_transform(hops[None])[0]
    return [int(((diagram[diagram[:, 2] == d][:, 0] <= SCALE) & (diagram[diagram[:, 2] == d][:, 1] > SCALE)).sum())
            for d in range(maxdim + 1)]


def time_readings(label: str, layers, y, *, k: int, maxdim: int, rounds: int, direct_engines,
                  reference: bool):
    """Interleaved arms on every (layer, class); returns (ratios to the faster direct, agreed)."""
    from tdnn_utils import topology

    per_reading, agreed = [], True
    for layer, values in layers.items():
        for cls in np.unique(y):
            points = values[y == cls]
            answers = {}

            def arm(name, work):
                return lambda: answers.__setitem__(name, [int(b) for b in work()])

            arms = {"collapsed": arm("collapsed", lambda: topology.betti_numbers(points, SCALE, k=k, maxdim=maxdim))}
            for engine in direct_engines:
                arms[f"direct {engine}"] = arm(engine, lambda e=engine: topology.betti_numbers_direct(
                    points, SCALE, k=k, maxdim=maxdim, engine=e))
            if reference and layer == "input":
                arms["giotto-tda dense"] = arm("reference", lambda: dense_reference(points, k, maxdim))
            times = interleave(arms, rounds=rounds, warmup=0)
            faster = min((a for a in arms if a.startswith("direct")), key=lambda a: np.median(times[a]))
            per_reading.append(ratios(times["collapsed"], times[faster]))
            agreed &= len({tuple(v) for v in answers.values()}) == 1
            print(f"   {label} {layer:9s} class {cls}: {len(points):,} points -> β {answers['collapsed']}; "
                  + ", ".join(f"{a} {np.median(t):.3f} s" for a, t in times.items()), flush=True)
    return np.concatenate(per_reading), agreed


def time_several_k(X, *, ks, maxdim, rounds):
    from tdnn_utils import topology

    times = interleave({
        "together": lambda: topology.betti_numbers_at_ks(X, SCALE, ks, maxdim=maxdim),
        "one by one": lambda: [topology.betti_numbers(X, SCALE, k=k, maxdim=maxdim) for k in ks],
    }, rounds=rounds, warmup=0)
    return ratios(times["together"], times["one by one"]), times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=1500, help="training budget of each network")
    args = parser.parse_args(argv)
    from tdnn_utils import engines, topology

    print(f"{load()}; engines {', '.join(engines.available())}")
    topology.betti_numbers(np.random.default_rng(0).normal(size=(50, 3)), 2.5, k=5)  # compile once
    all_agreed, paper = True, []
    workloads = [("D-II, paper's density", "D-II", [25] * 9, 4, 34, 1),
                 ("D-III, paper's density", "D-III", [15] * 9, 4, 34, 2),
                 ("D-II, book's former density", "D-II", [25] * 9, 24, 6, 1)]
    for label, name, hidden, every, k, maxdim in workloads:
        layers, y, accuracy = trained_layers(name, hidden, every, args.steps)
        print(f"{label}: every {every}th point ({len(y):,}), k = {k}, dimensions 0-{maxdim}; "
              f"a {len(hidden)}x{hidden[0]} ReLU network at {accuracy:.4f} training accuracy")
        direct = ("gudhi",) if maxdim == 2 else ("gudhi", "giotto-ph")
        per_reading, agreed = time_readings(name, layers, y, k=k, maxdim=maxdim, rounds=args.rounds,
                                            direct_engines=direct, reference=every == 4)
        all_agreed &= agreed
        print(f"   collapsed / faster direct engine: {describe(per_reading)}")
        if every == 4:
            paper.append(per_reading)
            ks = [int(k * 0.75), k, int(k * 1.25)]
            together, times = time_several_k(layers["input"][y == 0], ks=ks, maxdim=maxdim, rounds=args.rounds)
            print(f"   k = {ks} of one cloud read together / one by one: {describe(together)} "
                  f"({describe(times['together'], ' s')} together)")
    print(f"target identical Betti numbers on every path: {'met' if all_agreed else 'NOT met'}")
    print(target_line("a reading at the paper's density, collapsed / faster direct engine,",
                      np.concatenate(paper), at_most=0.25))


if __name__ == "__main__":
    main()
