"""
====================================================
Tune an explainer by the quality of its explanations
====================================================

An explainer is a scikit-learn estimator and a metric of explanation quality
is a scorer, so :class:`~sklearn.model_selection.GridSearchCV` tunes an
explainer's settings by how good its explanations are.

A CNN is trained on synthetic shapes (the class of an image is the shape of
one object; the rest is clutter). Then ``GridSearchCV`` picks, on held-out
images,

* LIME's ``n_samples`` and segmentation, and
* Integrated Gradients' baseline,

by deletion AUC (faithfulness: the model's confidence should collapse when
the most relevant pixels are removed first), with sparseness (a few pixels
carry the explanation) reported beside it. The model is wrapped in
:class:`~sklearn.frozen.FrozenEstimator`, so the search never refits it: only
the explainers' settings change.

Run ``python examples/plot_tune_explainer.py``; ``--quick`` (or the
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
from sklearn.model_selection import GridSearchCV, KFold, train_test_split

from sklearn_xai.attribution import IntegratedGradientsExplainer, LimeExplainer
from sklearn_xai.datasets import make_shape_images
from sklearn_xai.metrics import (
    deletion_auc,
    get_explanation_scorer,
    make_explanation_scorer,
)
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.preprocessing import SuperpixelSegmenter
from sklearn_xai.visualization import FaithfulnessCurveDisplay

parser = argparse.ArgumentParser(description="Tune explainers by faithfulness.")
parser.add_argument("--quick", action="store_true", help="a smaller smoke run")
quick_env = os.environ.get("SKLEARN_XAI_EXAMPLES_QUICK", "") not in ("", "0")
QUICK = parser.parse_known_args()[0].quick or quick_env

data = make_shape_images(600 if QUICK else 1000, random_state=0)
X_train, X_held, y_train, y_held = train_test_split(
    data.images, data.target, test_size=0.2, stratify=data.target, random_state=0
)
cnn = CNNClassifier(max_epochs=4 if QUICK else 10, module__n_blocks=3, random_state=0)
cnn.fit(X_train, y_train)
print(f"CNN held-out accuracy: {cnn.score(X_held, y_held):.3f}")

# %%
# Scorers
# -------
# :func:`~sklearn_xai.metrics.make_explanation_scorer` turns a metric into a
# scorer ``scorer(explainer, X, y)``: it explains ``X`` with the explainer
# (for the true labels ``y`` here) and scores the explanations. Deleted
# pixels are blurred: a constant fill would keep the object's silhouette,
# which alone decides the class of these images. Deletion AUC is better when
# lower, so the scorer negates it (``greater_is_better=False`` is read from
# the metric). Several scorers in one ``scoring`` dict explain the images once.
n_images = 4 if QUICK else 8
X_tune, y_tune = X_held[:n_images], y_held[:n_images]
scoring = {
    "deletion": make_explanation_scorer(deletion_auc, baseline="blur", n_steps=32),
    "sparseness": get_explanation_scorer("sparseness"),
}
cv = KFold(2)  # explainers are not refitted: the folds only average the score

# %%
# Tune LIME and Integrated Gradients
# ----------------------------------
lime_search = GridSearchCV(
    LimeExplainer(FrozenEstimator(cnn), random_state=0),
    {
        "n_samples": [50, 100] if QUICK else [100, 300],
        "segmentation": [
            "slic",
            "grid",
            SuperpixelSegmenter(method="felzenszwalb", scale=50, min_size=10),
        ],
    },
    scoring=scoring,
    refit="deletion",
    cv=cv,
).fit(X_tune, y_tune)
ig_search = GridSearchCV(
    IntegratedGradientsExplainer(FrozenEstimator(cnn), n_steps=32),
    {"baseline": ["zeros", "mean", "blur"]},
    scoring=scoring,
    refit="deletion",
    cv=cv,
).fit(X_tune, y_tune)

tables = {}
for name, search in (("LIME", lime_search), ("Integrated Gradients", ig_search)):
    table = pd.DataFrame(search.cv_results_["params"]).astype(str)
    table["deletion AUC"] = -search.cv_results_["mean_test_deletion"]
    table["sparseness"] = search.cv_results_["mean_test_sparseness"]
    tables[name] = table.sort_values("deletion AUC")
    print(f"\n{name}: lower deletion AUC is better")
    print(tables[name].to_string(index=False))
    print(f"winning settings: {search.best_params_}")

# %%
# The deletion AUC of every LIME setting (lower is better):
table = tables["LIME"]
labels = [
    f"{row.segmentation.split('(')[0]}, {row.n_samples}" for row in table.itertuples()
]
fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(labels, table["deletion AUC"])
ax.invert_yaxis()
ax.set_xlabel("deletion AUC (lower is better)")
ax.set_title("LIME settings")
fig.tight_layout()

# %%
# Deletion curves of the winners
# -------------------------------
# With ``refit="deletion"`` each search refits its best explainer on the tuning
# images (which, for a frozen model, costs nothing). The curves show the
# model's probability of the true class as the most relevant pixels are
# blurred first.
display = FaithfulnessCurveDisplay.from_explainer(
    {
        "LIME (best)": lime_search.best_estimator_,
        "IG (best)": ig_search.best_estimator_,
    },
    X_tune,
    kind="deletion",
    target=y_tune,
    n_steps=32,
    baseline="blur",
)
plt.show()
