"""
===========================
Compare attribution methods
===========================

Every explainer of :mod:`sklearn_xai.attribution` has the same interface and
returns attributions of the same shape, so they are compared side by side
with the same plots and metrics.

The data are synthetic shapes whose class is the shape of one object among
clutter: :func:`~sklearn_xai.datasets.make_shape_images` also returns the
object's mask, the ground truth that localization metrics compare an
explanation with. Perturbation methods (LIME, occlusion, RISE) only call
``predict_proba``; gradient methods (saliency, Integrated Gradients,
Grad-CAM) differentiate the network of the
:class:`~sklearn_xai.neural_network.CNNClassifier`.

Run ``python examples/plot_compare_methods.py``; ``--quick`` (or the
environment variable ``SKLEARN_XAI_EXAMPLES_QUICK=1``) gives a smaller smoke
run.
"""

# %%
# A CNN on shapes
# ---------------
import argparse
import os

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split

from sklearn_xai.attribution import (
    GradCAMExplainer,
    IntegratedGradientsExplainer,
    LimeExplainer,
    OcclusionExplainer,
    RISEExplainer,
    SaliencyExplainer,
)
from sklearn_xai.datasets import make_shape_images
from sklearn_xai.metrics import (
    deletion_auc,
    insertion_auc,
    pointing_game,
    relevance_mass_accuracy,
    sparseness,
)
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.visualization import AttributionDisplay, FaithfulnessCurveDisplay

parser = argparse.ArgumentParser(description="Compare attribution methods.")
parser.add_argument("--quick", action="store_true", help="a smaller smoke run")
quick_env = os.environ.get("SKLEARN_XAI_EXAMPLES_QUICK", "") not in ("", "0")
QUICK = parser.parse_known_args()[0].quick or quick_env

data = make_shape_images(
    600 if QUICK else 1000, n_classes=3, color=False, random_state=0
)
X_train, X_test, y_train, y_test, _, masks_test = train_test_split(
    data.images,
    data.target,
    data.masks,
    test_size=0.2,
    stratify=data.target,
    random_state=0,
)
cnn = CNNClassifier(max_epochs=4 if QUICK else 10, module__n_blocks=3, random_state=0)
cnn.fit(X_train, y_train)
print(f"classes: {', '.join(data.target_names)}")
print(f"CNN held-out accuracy: {cnn.score(X_test, y_test):.3f}")

# %%
# Six explainers of one frozen model
# ----------------------------------
# Each is fitted on the training images (the model is frozen: nothing is
# retrained; Integrated Gradients learns its mean-image baseline there).
model = FrozenEstimator(cnn)
explainers = {
    "LIME": LimeExplainer(model, n_samples=100 if QUICK else 300, random_state=0),
    "Occlusion": OcclusionExplainer(model, window=6, stride=3),
    "RISE": RISEExplainer(model, n_masks=300 if QUICK else 500, random_state=0),
    "Saliency": SaliencyExplainer(model),
    "IG": IntegratedGradientsExplainer(model, baseline="mean"),
    "Grad-CAM": GradCAMExplainer(model),
}
for explainer in explainers.values():
    explainer.fit(X_train)

# %%
# The overlays of a few held-out images (the predicted class is explained):
display = AttributionDisplay.from_explainer(explainers, X_test[:3])
plt.show()

# %%
# Score every method
# ------------------
# The true class of each image is explained. Faithfulness: deletion AUC
# (lower is better) and insertion AUC (higher is better), with blurred
# pixels. Complexity: sparseness (higher is more concentrated).
# Localization: the share of positive relevance that falls on the object
# (relevance mass accuracy) and whether the most relevant pixel hits it
# (pointing game), both higher is better.
n_score = 8 if QUICK else 16
X_score, y_score, masks = X_test[:n_score], y_test[:n_score], masks_test[:n_score]
rows = {}
attributions = {}
for name, explainer in explainers.items():
    attributions[name] = a = explainer.explain(X_score, target=y_score)
    rows[name] = {
        "deletion AUC": deletion_auc(
            cnn, X_score, a, targets=y_score, baseline="blur"
        ).mean(),
        "insertion AUC": insertion_auc(cnn, X_score, a, targets=y_score).mean(),
        "sparseness": sparseness(a).mean(),
        "relevance mass": relevance_mass_accuracy(a, masks).mean(),
        "pointing game": pointing_game(a, masks).mean(),
    }
table = pd.DataFrame(rows).T
with pd.option_context("display.width", 120):
    print(table.round(3).to_string())

# %%
# Deletion curves
# ---------------
# The probability of the true class as the pixels each method finds most
# relevant are blurred first; the area under each curve is its deletion AUC.
# ``from_attributions`` reuses the attributions computed above (``from_explainer``
# would explain the images again).
display = FaithfulnessCurveDisplay.from_attributions(
    cnn, X_score, attributions, kind="deletion", targets=y_score, baseline="blur"
)
plt.show()
