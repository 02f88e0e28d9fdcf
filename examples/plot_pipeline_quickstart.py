"""
==========================================
Quickstart: train, explain and score a CNN
==========================================

The whole loop in a few lines of scikit-learn: a :class:`~sklearn.pipeline.Pipeline`
of an image transformer and a :class:`~sklearn_xai.neural_network.CNNClassifier`
is trained on handwritten digits, two explainers explain its predictions on
held-out images, and a faithfulness metric scores the explanations.

The trained pipeline is wrapped in :class:`~sklearn.frozen.FrozenEstimator`:
an explainer's ``fit`` then uses it as is (no refit) and only learns what the
method needs from the training images.

Run ``python examples/plot_pipeline_quickstart.py``; ``--quick`` (or the
environment variable ``SKLEARN_XAI_EXAMPLES_QUICK=1``) gives a smaller smoke
run.
"""

# %%
# Data and model
# --------------
# scikit-learn's 8x8 digits, upscaled to 16x16 with OpenCV so that the
# heatmaps have room. :class:`~sklearn_xai.preprocessing.ImageNormalizer`
# learns per-channel statistics; the CNN is a small skorch network.
import argparse
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from sklearn_xai.attribution import IntegratedGradientsExplainer, LimeExplainer
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.metrics import deletion_auc, insertion_auc
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.preprocessing import ImageNormalizer
from sklearn_xai.visualization import AttributionDisplay

parser = argparse.ArgumentParser(description="Train, explain and score a CNN.")
parser.add_argument("--quick", action="store_true", help="a smaller smoke run")
quick_env = os.environ.get("SKLEARN_XAI_EXAMPLES_QUICK", "") not in ("", "0")
QUICK = parser.parse_known_args()[0].quick or quick_env

X, y = load_digit_images(size=16, return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
pipe = Pipeline(
    [
        ("normalize", ImageNormalizer()),
        ("cnn", CNNClassifier(max_epochs=2 if QUICK else 5, lr=3e-3, random_state=0)),
    ]
)
pipe.fit(X_train, y_train)
print(f"held-out accuracy: {pipe.score(X_test, y_test):.3f}")

# %%
# Explain
# -------
# LIME perturbs superpixels and fits a local linear model to the CNN's
# answers; it only needs ``predict_proba``. Integrated Gradients integrates
# the network's gradients from a baseline image (here the mean training
# image, learned in ``fit``) to the image. Both return float32 attributions
# of shape ``(n, H, W)``: positive values are evidence for the explained
# class (by default the predicted one).
lime = LimeExplainer(
    FrozenEstimator(pipe), n_samples=100 if QUICK else 300, random_state=0
).fit(X_train)
ig = IntegratedGradientsExplainer(FrozenEstimator(pipe), baseline="mean").fit(X_train)

X_show = X_test[:4]
attributions = {"LIME": lime.explain(X_show), "IG": ig.explain(X_show)}
print({name: a.shape for name, a in attributions.items()})

# %%
# :class:`~sklearn_xai.visualization.AttributionDisplay` explains the images
# with every explainer and draws the overlays, one row per image.
display = AttributionDisplay.from_explainer({"LIME": lime, "IG": ig}, X_show)
plt.show()

# %%
# Score the explanations
# ----------------------
# Deletion AUC sets the most relevant pixels to black first (the digits'
# background) and integrates the model's probability of the explained class
# along the way: the faster it collapses, the more faithful the explanation
# (lower is better). Insertion AUC adds the pixels, most relevant first, to a
# blurred image (higher is better). Both return one score per image.
for name, values in attributions.items():
    deletion = deletion_auc(pipe, X_show, values)
    insertion = insertion_auc(pipe, X_show, values)
    print(
        f"{name:5s} deletion AUC {np.mean(deletion):.3f}  "
        f"insertion AUC {np.mean(insertion):.3f}"
    )
