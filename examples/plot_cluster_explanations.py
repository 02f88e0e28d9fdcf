"""
===================================================
Cluster explanations to find a Clever Hans strategy
===================================================

Spectral relevance analysis (SpRAy, Lapuschkin et al. 2019) looks for the
*strategies* a classifier uses for one class by clustering the explanations
of many images of that class: images decided for the same reason have
similar heatmaps.

An explainer's ``transform`` returns flattened attributions, so it is a
:class:`~sklearn.pipeline.Pipeline` step, and the analysis is a pipeline:
explainer, per-image normalization, :class:`~sklearn.cluster.KMeans`.

To have something to find, half of the training images of the digit 3 carry
a small bright "watermark" in a corner, which no other class has: the CNN
learns a shortcut (a "Clever Hans" strategy) besides the digit's shape.

Run ``python examples/plot_cluster_explanations.py``; ``--quick`` (or the
environment variable ``SKLEARN_XAI_EXAMPLES_QUICK=1``) gives a smaller smoke
run.

.. rubric:: References

S. Lapuschkin, S. Wäldchen, A. Binder, G. Montavon, W. Samek and K.-R.
Müller, "Unmasking Clever Hans predictors and assessing what machines really
learn", Nature Communications 10, 1096 (2019).
"""

# %%
# A shortcut in the training data
# -------------------------------
import argparse
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer

from sklearn_xai.attribution import IntegratedGradientsExplainer
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.visualization import overlay_attribution

parser = argparse.ArgumentParser(description="Cluster explanations (SpRAy).")
parser.add_argument("--quick", action="store_true", help="a smaller smoke run")
quick_env = os.environ.get("SKLEARN_XAI_EXAMPLES_QUICK", "") not in ("", "0")
QUICK = parser.parse_known_args()[0].quick or quick_env

DIGIT = 3


def add_watermark(images, flags):
    """A copy of the images, with a bright 3x3 square top right where flagged."""
    images = images.copy()
    images[flags, 1:4, 12:15] = 1.0
    return images


rng = np.random.default_rng(0)
X, y = load_digit_images(size=16, return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
marked_train = (y_train == DIGIT) & (rng.random(len(y_train)) < 0.5)
X_train = add_watermark(X_train, marked_train)

cnn = CNNClassifier(max_epochs=3 if QUICK else 5, lr=3e-3, random_state=0)
cnn.fit(X_train, y_train)
print(f"held-out accuracy (no watermarks): {cnn.score(X_test, y_test):.3f}")

# %%
# The shortcut works: the watermark alone turns other digits into 3s.
others = X_test[y_test != DIGIT]
fooled = cnn.predict(add_watermark(others, np.ones(len(others), dtype=bool)))
print(f"other digits predicted {DIGIT} when marked: {np.mean(fooled == DIGIT):.0%}")

# %%
# Explanations -> clustering, as a pipeline
# -----------------------------------------
# Held-out 3s, half of them watermarked. Integrated Gradients explains the
# predicted class; :class:`~sklearn.preprocessing.Normalizer` scales every
# heatmap to unit norm (so clusters group *where* the relevance is, not how
# much there is); k-means splits them into two groups. The frozen model is
# never refitted: ``Pipeline.fit`` only fits the explainer's baseline and
# the clustering.
X_digit = X_test[y_test == DIGIT]
if QUICK:
    X_digit = X_digit[:30]
marked = rng.random(len(X_digit)) < 0.5
X_digit = add_watermark(X_digit, marked)

spray = Pipeline(
    [
        ("explain", IntegratedGradientsExplainer(FrozenEstimator(cnn), n_steps=32)),
        ("normalize", Normalizer()),
        ("cluster", KMeans(n_clusters=2, n_init=10, random_state=0)),
    ]
)
clusters = spray.fit_predict(X_digit)
ari = adjusted_rand_score(marked, clusters)
print(f"{len(X_digit)} images, cluster sizes {np.bincount(clusters).tolist()}")
print(f"agreement of the clusters with the watermark (adjusted Rand): {ari:.2f}")

# %%
# What each cluster looks at
# --------------------------
# The mean heatmap of each cluster, and a few of its images. One cluster's
# relevance sits on the watermark: the shortcut, found without knowing it
# was there.
attributions = spray["explain"].explain(X_digit)
n_show = 4
fig, axes = plt.subplots(2, n_show + 1, figsize=(2 * (n_show + 1), 4.4))
for c in range(2):
    members = np.flatnonzero(clusters == c)
    mean_map = attributions[members].mean(axis=0)
    limit = np.abs(mean_map).max()
    axes[c, 0].imshow(mean_map, cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes[c, 0].set_title(f"cluster {c}: mean\n({len(members)} images)")
    for j, i in enumerate(members[:n_show]):
        axes[c, j + 1].imshow(overlay_attribution(X_digit[i], attributions[i]))
        axes[c, j + 1].set_title("watermark" if marked[i] else "clean")
for ax in axes.ravel():
    ax.set_axis_off()
fig.tight_layout()
plt.show()
