"""Chapter 3's costs: the topology callback against the training epoch it measures.

For each CNN family at the book size (``small``) on scikit-learn's digits (1,200 training
images, batch 64, 128 probe images): the time of one training epoch, and of one call of the
:class:`~tdnn_utils.dynamics.TopologyRecorder` (per-block persistence, dimensions 0-1, plus
the functional graph of 1,000 units). Then, for a trained LeNet's functional graph, the
persistence capped at 1 - |r| = 0.3 (Corneanu et al.'s cap) against the uncapped computation.
Prints the ratios; the target is a callback cheaper than the epoch it measures.
"""

import time

import numpy as np

from tdnn_utils import cnn, dynamics, functional, images
from tdnn_utils.training import fit, seed_everything


def main():
    pixels, labels = images.load_digits_images()
    pixels = pixels[:, None]
    X, y, probe = pixels[:1200], labels[:1200], pixels[1200:1328]
    print("family        epoch (s)  callback (s)  callback / epoch")
    for family in ("resnet", "densenet", "efficientnet"):
        seed_everything(0)
        model = cnn.build(family, "small", num_classes=10, in_channels=1, image_size=8)
        start = time.perf_counter()
        fit(model, X, y, epochs=1, batch_size=64, lr=0.01, progress=False)
        epoch = time.perf_counter() - start
        recorder = dynamics.TopologyRecorder(probe, max_units=1000)
        recorder(model, 1)
        print(f"{family:12s} {epoch:9.2f}  {recorder.seconds:12.2f}  {recorder.seconds / epoch:16.2f}")

    seed_everything(0)
    lenet = cnn.build("lenet", num_classes=10, in_channels=1, image_size=8)
    fit(lenet, X, y, epochs=30, batch_size=128, lr=0.05, optimizer="sgd", weight_decay=5e-4, progress=False)
    activations = cnn.block_activations(lenet, probe)
    timings = {}
    for cap in (functional.DEFAULT_CAP, 1.0):
        start = time.perf_counter()
        diagrams = functional.functional_persistence(activations, maxdim=1, cap=cap, max_units=1000)
        timings[cap] = time.perf_counter() - start
        print(f"LeNet functional graph, 1,000 units, cap {cap}: {timings[cap]:.2f} s, "
              f"{len(diagrams[1])} bars in dimension 1")
    print(f"uncapped / capped: {timings[1.0] / timings[functional.DEFAULT_CAP]:.1f}x")


if __name__ == "__main__":
    main()
