"""
====================================================
A decision tree that mimics a CNN (global surrogate)
====================================================

Local explanations say why the network classified *one* image the way it
did. A global surrogate summarizes the whole network:
:class:`~sklearn_xai.surrogate.SurrogateTreeClassifier` fits a small
decision tree to the network's *predictions* (not the labels) on
interpretable features, the mean intensity of each cell of a grid over the
image. Its ``fidelity_`` is the fraction of images on which the tree agrees
with the network; its rules are printed and drawn on the image.

Run ``python examples/plot_surrogate_tree.py``; ``--quick`` (or the
environment variable ``SKLEARN_XAI_EXAMPLES_QUICK=1``) gives a smaller smoke
run.
"""

# %%
# The black box
# -------------
import argparse
import os

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, train_test_split

from sklearn_xai.datasets import load_digit_images
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.surrogate import SurrogateTreeClassifier
from sklearn_xai.visualization import SurrogateTreeDisplay

parser = argparse.ArgumentParser(description="A surrogate tree of a CNN.")
parser.add_argument("--quick", action="store_true", help="a smaller smoke run")
quick_env = os.environ.get("SKLEARN_XAI_EXAMPLES_QUICK", "") not in ("", "0")
QUICK = parser.parse_known_args()[0].quick or quick_env

X, y = load_digit_images(size=16, return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
cnn = CNNClassifier(max_epochs=2 if QUICK else 5, lr=3e-3, random_state=0)
cnn.fit(X_train, y_train)
print(f"CNN held-out accuracy: {cnn.score(X_test, y_test):.3f}")

# %%
# How deep must the tree be?
# --------------------------
# A surrogate's ``score`` is its fidelity to the black box, so
# ``GridSearchCV`` picks the depth by cross-validated fidelity; ``y`` is not
# needed (the frozen network supplies the answers).
search = GridSearchCV(
    SurrogateTreeClassifier(FrozenEstimator(cnn), grid_size=4, random_state=0),
    {"max_depth": [2, 4, 6, 8]},
    cv=3,
).fit(X_train)
results = pd.DataFrame(
    {
        "max_depth": search.cv_results_["param_max_depth"],
        "fidelity (cv)": search.cv_results_["mean_test_score"],
    }
)
print(results.to_string(index=False))

# %%
# A readable tree
# ---------------
# Depth 4 on a 4x4 grid: at most 16 leaves, few enough to read, which agree
# with the network on about two images in three (deeper trees agree more and
# read less easily). Held-out fidelity is measured on images the tree never
# saw.
tree = SurrogateTreeClassifier(
    FrozenEstimator(cnn), grid_size=4, max_depth=4, random_state=0
).fit(X_train)
print(f"training fidelity {tree.fidelity_:.3f}, held-out {tree.score(X_test):.3f}")
print(tree.export_text())

# %%
# The tree and the regions its splits test, on the mean training image
# (``image=None``) or on any image:
display = SurrogateTreeDisplay.from_estimator(tree, image=X_test[0], max_depth=3)
plt.show()

# %%
# Where the tree looks
# --------------------
# ``importance_image`` maps the tree's feature importances back onto the
# pixels: a global attribution map of the network, as the tree sees it.
fig, ax = plt.subplots(figsize=(3, 3))
shown = ax.imshow(tree.importance_image(), cmap="viridis")
fig.colorbar(shown, ax=ax)
ax.set_axis_off()
ax.set_title("surrogate importances")
plt.show()
