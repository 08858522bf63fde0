"""Helpers for the book *The topology of deep neural networks*.

One job per module:

- :mod:`tdnn_utils.datasets`: point clouds (entangled tori, Naitzat's D-I, D-II, D-III);
- :mod:`tdnn_utils.images`: image data by name (digits, MNIST-format files, CIFAR-10), PCA problems, label corruption;
- :mod:`tdnn_utils.engines`: the persistence engines (giotto-ph, or gudhi where it has no wheel), one answer;
- :mod:`tdnn_utils.topology`: distances, Betti numbers at a scale, persistence, summaries;
- :mod:`tdnn_utils.neighbours`: one k-nearest-neighbour query per cloud, and the hop graphs built from it;
- :mod:`tdnn_utils.collapse`: Betti numbers of a flag complex after strong and edge collapses (numba);
- :mod:`tdnn_utils.trust`: whether a layer's hop-metric reading can be trusted (three checks, one rule);
- :mod:`tdnn_utils.models`: fully connected networks and reading their layers;
- :mod:`tdnn_utils.cnn`: ResNet, DenseNet, EfficientNet families (tiny / small / standard) and LeNet;
- :mod:`tdnn_utils.training`: one training loop with seeds, device choice, callbacks and a history;
- :mod:`tdnn_utils.ensemble`: many networks of one architecture trained at once, each as it would train alone;
- :mod:`tdnn_utils.fastmlp`: the full-batch training step of stacked fully connected networks, written by hand;
- :mod:`tdnn_utils.functional`: Corneanu et al.'s functional graph (1 - |r| between units) and its persistence;
- :mod:`tdnn_utils.dynamics`: a training callback that records every block's topology at chosen epochs;
- :mod:`tdnn_utils.sweep`: sweeps of networks, trained and measured in parallel, cached per network;
- :mod:`tdnn_utils.regularizers`: differentiable Vietoris-Rips persistence of a batch and topological losses;
- :mod:`tdnn_utils.regularization`: Chapter 4's paired experiment (arms, runs, comparisons);
- :mod:`tdnn_utils.readings`: per-network measures of simplification from Betti readings (the window of k,
  the area under the normalised Betti curve, the end reduction), and the committed per-reading files;
- :mod:`tdnn_utils.simplification`: Chapter 2's study (setups at the paper's density, the five claims);
- :mod:`tdnn_utils.verdicts`: the numbers a verdict rests on, and the verdict rules;
- :mod:`tdnn_utils.paper`: what the papers report, to draw beside the book's numbers;
- :mod:`tdnn_utils.reference`: giotto-deep's own run of its tutorial, read from its results file;
- :mod:`tdnn_utils.primer`: the primer's small examples (clouds of known shape, two tiny networks);
- :mod:`tdnn_utils.plotting`: the plotly figures the chapters share, and the book's template;
- :mod:`tdnn_utils.colours`: the colour-blind-safe palette and the red-green check;
- :mod:`tdnn_utils.teaching`: teaching figures (a Rips complex with a slider, barcodes, the k-NN graph);
- :mod:`tdnn_utils.tables`: tables in words, formatted, fit to the column, long ones folded;
- :mod:`tdnn_utils.landing`: the landing page's summary, written from the results;
- :mod:`tdnn_utils.parallel`: per-network tasks on local worker processes, results as they finish;
- :mod:`tdnn_utils.runs`: presets and the papermill runner;
- :mod:`tdnn_utils.claims`: the claims page (rules, summary grid, a card and a table per claim);
- :mod:`tdnn_utils.chapters`: the chapters' paired sources, their one install cell and Colab link;
- :mod:`tdnn_utils.validation`: the input checks every module shares (shapes, labels, sizes, diagrams,
  the memory a call will need, safe cache file names).
"""

__version__ = "0.2.0"
