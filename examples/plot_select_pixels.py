"""
==================================================
Select pixels by attribution, then retrain on them
==================================================

:class:`~sklearn_xai.feature_selection.SelectFromAttributions` keeps the
pixels that an explainer finds most relevant over the training images. Is
that a good way to choose features? A remove-and-retrain style check: on
scikit-learn's 8x8 handwritten digits, every selector keeps the ``k`` most
relevant pixels of the training images, a fresh
:class:`~sklearn.linear_model.LogisticRegression` is retrained on those
pixels only and scored on held-out images. Selectors:

* ``SelectFromAttributions`` with Integrated Gradients and Saliency on a
  small CNN, and with Occlusion on a logistic regression (all three models
  trained once and wrapped in :class:`~sklearn.frozen.FrozenEstimator`:
  selection never refits them);
* scikit-learn's own :class:`~sklearn.feature_selection.SelectKBest` with
  ``mutual_info_classif`` and with ``f_classif`` on the flattened images;
* random pixels (mean accuracy over a few seeds).

Pixels that carry the evidence the models use should keep more accuracy than
random ones at the same budget.

Run ``python examples/plot_select_pixels.py``; ``--quick`` (or the
environment variable ``SKLEARN_XAI_EXAMPLES_QUICK=1``) gives a smaller smoke
run.
"""

# %%
# Data and models
# ---------------
import argparse
import os
import warnings
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.feature_selection import SelectKBest, f_classif, mutual_info_classif
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from sklearn_xai.attribution import (
    IntegratedGradientsExplainer,
    OcclusionExplainer,
    SaliencyExplainer,
)
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.feature_selection import SelectFromAttributions
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.visualization import SelectionDisplay

parser = argparse.ArgumentParser(description="Select pixels by attribution.")
parser.add_argument("--quick", action="store_true", help="a smaller smoke run")
quick_env = os.environ.get("SKLEARN_XAI_EXAMPLES_QUICK", "") not in ("", "0")
QUICK = parser.parse_known_args()[0].quick or quick_env

images, target = load_digit_images(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    images, target, test_size=0.3, stratify=target, random_state=0
)
flat_train = X_train.reshape(len(X_train), -1)
flat_test = X_test.reshape(len(X_test), -1)
# The attributions are computed on (a subset of) the training images only.
n_explain = 300 if QUICK else 600
X_explain, y_explain = X_train[:n_explain], y_train[:n_explain]

cnn = CNNClassifier(max_epochs=6 if QUICK else 10, lr=0.01, random_state=0)
cnn.fit(X_train, y_train)
logreg = LogisticRegression(max_iter=2000).fit(flat_train, y_train)
print(
    f"All 64 pixels: CNN accuracy {cnn.score(X_test, y_test):.3f}, "
    f"logistic regression {logreg.score(flat_test, y_test):.3f}"
)

# %%
# A selector is a pipeline step
# -----------------------------
# ``SelectFromAttributions`` is a scikit-learn selector: with ``y`` given,
# it explains the true label of every training image, aggregates the
# attributions into one importance per pixel (``importances_``) and keeps
# the ``max_features`` most important pixels.
ig_selector = SelectFromAttributions(
    IntegratedGradientsExplainer(FrozenEstimator(cnn), n_steps=16), max_features=16
)
pipe = Pipeline([("select", ig_selector), ("clf", LogisticRegression(max_iter=2000))])
pipe.fit(X_explain, y_explain)
print(f"16 IG pixels, {n_explain} training images: {pipe.score(X_test, y_test):.3f}")

display = SelectionDisplay.from_estimator(pipe["select"], X_test[0])
display.ax_.set_title("the 16 pixels kept by IG")
plt.show()

# %%
# Every selector at every budget
# ------------------------------
# The pixels kept at ``max_features=k`` are the ``k`` most important ones, so
# one fit per selector ranks the pixels for every budget.
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


def ranking(scores):
    """Pixels by decreasing score, ties by position (NaN last)."""
    scores = np.nan_to_num(np.ravel(scores), nan=-np.inf)
    return np.argsort(-scores, kind="stable")


rankings = {}
for name, (selector, X_fit) in attribution_selectors.items():
    rankings[name] = ranking(selector.fit(X_fit, y_explain).importances_)
for name, score_func in univariate.items():
    with warnings.catch_warnings():
        # The border pixels of digits are constant (always blank): f_classif
        # warns and scores them NaN, ranked last.
        warnings.simplefilter("ignore", (UserWarning, RuntimeWarning))
        kbest = SelectKBest(score_func, k="all").fit(
            X_explain.reshape(n_explain, -1), y_explain
        )
    rankings[name] = ranking(kbest.scores_)


def retrain_score(columns):
    """Held-out accuracy of a logistic regression on the given pixel columns."""
    clf = LogisticRegression(max_iter=2000)
    clf.fit(flat_train[:, columns], y_train)
    return clf.score(flat_test[:, columns], y_test)


ks = [4, 8, 16, 32]
n_seeds = 3 if QUICK else 5
rng = np.random.default_rng(0)
rows = []
for k in ks:
    row = {"k": k}
    for name, order in rankings.items():
        row[name] = retrain_score(order[:k])
    row["random (mean)"] = np.mean(
        [retrain_score(rng.choice(64, size=k, replace=False)) for _ in range(n_seeds)]
    )
    rows.append(row)

table = pd.DataFrame(rows).set_index("k")
print(
    "Held-out accuracy of a logistic regression retrained on k pixels "
    f"(random: mean of {n_seeds} seeds)"
)
with pd.option_context("display.width", 160, "display.max_columns", None):
    print(table.round(3).to_string())

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for name in table.columns:
    style = "k--" if name.startswith("random") else "o-"
    ax.plot(table.index, table[name], style, label=name)
ax.set_xscale("log", base=2)
ax.set_xticks(ks, [str(k) for k in ks])
ax.set_xlabel("pixels kept (k)")
ax.set_ylabel("held-out accuracy")
ax.legend(fontsize="small")
fig.tight_layout()
plt.show()
