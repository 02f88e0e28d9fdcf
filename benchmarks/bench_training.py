"""Training benchmark: accuracy and speed of CNNClassifier, and its overhead.

1. Held-out accuracy and training time of ``CNNClassifier`` on
   ``load_digit_images(size=32)`` (goal: >= 0.97 in < 60 s on 2 CPU cores) and
   ``load_face_images()`` (goal: >= 0.90 in < 60 s).
2. Overhead of the estimator: wall time of ``CNNClassifier.fit`` over a plain,
   hand-written torch training loop on the same network, data, batch size and
   epochs, measured alternately in one run (goal: ratio <= 1.15).

Run ``python benchmarks/bench_training.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import _environment  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before torch loads)

# isort: split

import argparse
import statistics
import time

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

from sklearn_xai.datasets import load_digit_images, load_face_images
from sklearn_xai.neural_network import CNNClassifier, SmallCNN

#: The benchmark's settings per data set: CNNClassifier parameters.
SETTINGS = {
    "digits (32x32)": dict(max_epochs=10, batch_size=32, lr=1e-3),
    "faces (25x25)": dict(max_epochs=30, batch_size=16, lr=1e-3),
}


def load(name):
    if name.startswith("digits"):
        return load_digit_images(size=32, return_X_y=True)
    return load_face_images(return_X_y=True)


def accuracy_table(random_state=0, epochs_scale=1.0):
    rows = []
    for name, params in SETTINGS.items():
        X, y = load(name)
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=random_state
        )
        params = dict(params)
        params["max_epochs"] = max(1, int(params["max_epochs"] * epochs_scale))
        clf = CNNClassifier(random_state=random_state, **params)
        start = time.perf_counter()
        clf.fit(X_tr, y_tr)
        seconds = time.perf_counter() - start
        rows.append(
            (name, len(X_tr), len(X_te), params, seconds, clf.score(X_te, y_te))
        )
    return rows


def plain_torch_fit(X, y, *, n_classes, epochs, batch_size, lr, seed):
    """The loop a user would write by hand for the same network."""
    torch.manual_seed(seed)
    net = SmallCNN(in_channels=X.shape[1], n_classes=n_classes)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True)
    net.train()
    for _ in range(epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xb), yb)
            loss.backward()
            optimizer.step()
    return net


def overhead(epochs=5, batch_size=32, repeats=3, random_state=0):
    X, y = load_digit_images(size=32, return_X_y=True)
    X_t = torch.from_numpy(np.ascontiguousarray(X[:, None]))
    y_t = torch.from_numpy(y.astype(np.int64))
    ours, plain = [], []
    for _ in range(repeats):
        clf = CNNClassifier(
            max_epochs=epochs, batch_size=batch_size, random_state=random_state
        )
        start = time.perf_counter()
        clf.fit(X, y)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        plain_torch_fit(
            X_t,
            y_t,
            n_classes=10,
            epochs=epochs,
            batch_size=batch_size,
            lr=1e-3,
            seed=random_state,
        )
        plain.append(time.perf_counter() - start)
    return statistics.median(ours), statistics.median(plain)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("\n== held-out accuracy and training time ==")
    print(
        f"{'data':16} {'train':>5} {'test':>5} {'epochs':>6} {'batch':>5} "
        f"{'seconds':>8} {'accuracy':>8}"
    )
    for name, n_tr, n_te, params, seconds, acc in accuracy_table(
        epochs_scale=0.2 if args.quick else 1.0
    ):
        print(
            f"{name:16} {n_tr:5d} {n_te:5d} {params['max_epochs']:6d} "
            f"{params['batch_size']:5d} {seconds:8.1f} {acc:8.4f}"
        )
    print("\n== overhead: CNNClassifier.fit / plain torch loop (digits 32x32) ==")
    epochs = 1 if args.quick else 5
    for batch_size in (32, 64):
        ours, plain = overhead(
            epochs=epochs, batch_size=batch_size, repeats=args.repeats
        )
        print(
            f"batch {batch_size:3d}, {epochs} epochs: CNNClassifier {ours:.2f} s, "
            f"plain loop {plain:.2f} s, ratio {ours / plain:.3f}"
        )


if __name__ == "__main__":
    main()
