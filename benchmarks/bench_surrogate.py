"""Fidelity of decision-tree surrogates of the benchmark CNN, by tree depth.

Trains ``CNNClassifier(max_epochs=10, batch_size=32, random_state=0)`` on 75%
of the 32x32 digits, then fits ``SurrogateTreeClassifier(FrozenEstimator(cnn))``
on the same training images at several ``max_depth`` values and prints, per
depth: the fidelity on the training images (``fidelity_``), the held-out
fidelity (``score`` on the other 25%: agreement with the CNN), the number of
leaves and the fit time. Goal: held-out fidelity >= 0.90 at depth <= 8.

``python benchmarks/bench_surrogate.py [--grid-size 8] [--features grid]
[--n-augment 0 4] [--quick]``.
"""

from __future__ import annotations

import _environment  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before torch loads)

# isort: split

import argparse
import time

from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split

from sklearn_xai.datasets import load_digit_images
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.surrogate import SurrogateTreeClassifier

DEPTHS = [2, 4, 6, 8, 10, None]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer epochs and no augmentation"
    )
    parser.add_argument("--grid-size", type=int, nargs="+", default=[8])
    parser.add_argument("--features", default="grid", choices=["grid", "superpixels"])
    parser.add_argument(
        "--n-augment",
        type=int,
        nargs="+",
        default=[0, 4],
        help="black-box-labelled shifted copies per training image",
    )
    args = parser.parse_args(argv)

    X, y = load_digit_images(size=32, return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    start = time.perf_counter()
    if args.quick:
        args.n_augment = [0]
    cnn = CNNClassifier(
        max_epochs=3 if args.quick else 10, batch_size=32, random_state=0
    )
    cnn.fit(X_train, y_train)
    print(
        f"CNN trained in {time.perf_counter() - start:.1f} s; test accuracy "
        f"{cnn.score(X_test, y_test):.3f}",
        flush=True,
    )
    black_box = FrozenEstimator(cnn)
    for grid_size, n_augment in [
        (g, a) for g in args.grid_size for a in args.n_augment
    ]:
        print(
            f"\nfeatures={args.features!r}, grid_size={grid_size}, "
            f"n_augment={n_augment}",
            flush=True,
        )
        print(
            f"{'max_depth':>9} {'train fid':>9} {'test fid':>9} {'leaves':>6} {'s':>6}"
        )
        for depth in DEPTHS:
            start = time.perf_counter()
            tree = SurrogateTreeClassifier(
                black_box,
                features=args.features,
                grid_size=grid_size,
                max_depth=depth,
                n_augment=n_augment,
                random_state=0,
            ).fit(X_train)
            seconds = time.perf_counter() - start
            held_out = tree.score(X_test)
            print(
                f"{depth!s:>9} {tree.fidelity_:9.3f} {held_out:9.3f} "
                f"{tree.surrogate_.get_n_leaves():6d} {seconds:6.2f}",
                flush=True,
            )
    tuned_at_depth(black_box, X_train, X_test)


def tuned_at_depth(black_box, X_train, X_test, depth=8, grid_size=8):
    """Pick criterion and n_augment by cross-validated fidelity on the
    training images only, then report held-out fidelity (no peeking)."""
    from sklearn.model_selection import GridSearchCV

    start = time.perf_counter()
    search = GridSearchCV(
        SurrogateTreeClassifier(
            black_box, grid_size=grid_size, max_depth=depth, random_state=0
        ),
        {"criterion": ["gini", "entropy"], "n_augment": [4, 10]},
        cv=3,
    ).fit(X_train)
    seconds = time.perf_counter() - start
    print(
        f"\nGridSearchCV at max_depth={depth} (3-fold fidelity on the training "
        f"images): best {search.best_params_}, CV fidelity "
        f"{search.best_score_:.3f}, held-out fidelity "
        f"{search.score(X_test):.3f} ({seconds:.0f} s)"
    )


if __name__ == "__main__":
    main()
