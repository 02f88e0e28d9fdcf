"""Select pixels by attribution, then retrain on them (remove-and-retrain style).

On scikit-learn's 8x8 handwritten digits, every selector keeps the ``k`` most
relevant pixels of the training images; a fresh ``LogisticRegression`` is
retrained on those pixels only and scored on held-out images. Selectors:

* ``SelectFromAttributions`` with Integrated Gradients and Saliency on a small
  CNN, and with Occlusion on a logistic regression (all three models trained
  once and wrapped in ``FrozenEstimator``: selection never refits them);
* scikit-learn's own ``SelectKBest`` with ``mutual_info_classif`` and with
  ``f_classif`` on the flattened images;
* random pixels (mean accuracy over a few seeds).

Pixels that carry the evidence the models use should keep more accuracy
than random ones at the same budget.

Run ``python examples/select_pixels.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import warnings
from functools import partial

import numpy as np
import pandas as pd
from sklearn.feature_selection import SelectKBest, f_classif, mutual_info_classif
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from sklearn_xai.attribution import (
    IntegratedGradientsExplainer,
    OcclusionExplainer,
    SaliencyExplainer,
)
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.feature_selection import SelectFromAttributions
from sklearn_xai.neural_network import CNNClassifier


def retrain_score(columns, X_train, y_train, X_test, y_test):
    """Held-out accuracy of a logistic regression on the given pixel columns."""
    clf = LogisticRegression(max_iter=2000)
    clf.fit(X_train[:, columns], y_train)
    return clf.score(X_test[:, columns], y_test)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    args = parser.parse_args(argv)

    images, target = load_digit_images(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        images, target, test_size=0.3, stratify=target, random_state=0
    )
    flat_train = X_train.reshape(len(X_train), -1)
    flat_test = X_test.reshape(len(X_test), -1)
    # The attributions are computed on (a subset of) the training images only.
    n_explain = 300 if args.quick else len(X_train)
    X_explain, y_explain = X_train[:n_explain], y_train[:n_explain]
    ks = [4, 8, 16, 32]
    n_seeds = 3 if args.quick else 10

    cnn = CNNClassifier(max_epochs=6 if args.quick else 15, lr=0.01, random_state=0)
    cnn.fit(X_train, y_train)
    logreg = LogisticRegression(max_iter=2000).fit(flat_train, y_train)
    print(
        f"All 64 pixels: CNN accuracy {cnn.score(X_test, y_test):.3f}, "
        f"logistic regression {logreg.score(flat_test, y_test):.3f}"
    )

    # name -> (selector, its training input); the explainer explains the true
    # labels of the training images.
    attribution_selectors = {
        "IG (CNN)": (
            SelectFromAttributions(
                IntegratedGradientsExplainer(FrozenEstimator(cnn), n_steps=16)
            ),
            X_explain,
        ),
        "Saliency (CNN)": (
            SelectFromAttributions(SaliencyExplainer(FrozenEstimator(cnn))),
            X_explain,
        ),
        "Occlusion (logreg)": (
            SelectFromAttributions(
                OcclusionExplainer(
                    FrozenEstimator(logreg), window=2, stride=1, image_shape=(8, 8)
                )
            ),
            X_explain.reshape(n_explain, -1),
        ),
    }
    univariate = {
        "SelectKBest(mutual_info)": partial(mutual_info_classif, random_state=0),
        "SelectKBest(f_classif)": f_classif,
    }

    rows = []
    for k in ks:
        row = {"k": k}
        for name, (selector, X_fit) in attribution_selectors.items():
            selector.set_params(max_features=k).fit(X_fit, y_explain)
            columns = selector.get_support()
            row[name] = retrain_score(columns, flat_train, y_train, flat_test, y_test)
        for name, score_func in univariate.items():
            with warnings.catch_warnings():
                # The border pixels of digits are constant (always blank):
                # f_classif warns and scores them NaN, ranked last.
                warnings.simplefilter("ignore", (UserWarning, RuntimeWarning))
                kbest = SelectKBest(score_func, k=k).fit(
                    X_explain.reshape(n_explain, -1), y_explain
                )
            row[name] = retrain_score(
                kbest.get_support(), flat_train, y_train, flat_test, y_test
            )
        rng = np.random.default_rng(0)
        row["random (mean)"] = np.mean(
            [
                retrain_score(
                    rng.choice(64, size=k, replace=False),
                    flat_train,
                    y_train,
                    flat_test,
                    y_test,
                )
                for _ in range(n_seeds)
            ]
        )
        rows.append(row)

    table = pd.DataFrame(rows).set_index("k")
    print(
        f"\nHeld-out accuracy of a logistic regression retrained on k pixels "
        f"(random: mean of {n_seeds} seeds)"
    )
    with pd.option_context("display.width", 160, "display.max_columns", None):
        print(table.round(3).to_string())
    return table


if __name__ == "__main__":
    main()
