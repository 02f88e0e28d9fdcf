"""Tune explainers by the quality of their explanations.

A CNN is trained on synthetic shapes (whose class is decided by one object),
then ``GridSearchCV`` picks, on held-out images,

* LIME's ``n_samples`` and segmentation, and
* Integrated Gradients' baseline,

by deletion AUC (faithfulness: the model's confidence should collapse when
the most relevant pixels are blurred first) with sparseness (a few pixels carry the
explanation) reported beside it. The model is wrapped in ``FrozenEstimator``,
so the search never refits it: only the explainers' settings change.

Run ``python examples/tune_explainer.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse

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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    args = parser.parse_args(argv)

    data = make_shape_images(1000 if args.quick else 1600, random_state=0)
    X_train, X_held, y_train, y_held = train_test_split(
        data.images, data.target, test_size=0.2, stratify=data.target, random_state=0
    )
    cnn = CNNClassifier(
        max_epochs=10 if args.quick else 25, module__n_blocks=3, random_state=0
    )
    cnn.fit(X_train, y_train)
    print(f"CNN held-out accuracy: {cnn.score(X_held, y_held):.3f}")

    n_images = 8 if args.quick else 24
    X_tune, y_tune = X_held[:n_images], y_held[:n_images]
    # Deleted pixels are blurred: a constant fill would keep the object's
    # silhouette, which alone decides the class of these images.
    scoring = {
        "deletion": make_explanation_scorer(deletion_auc, baseline="blur", n_steps=32),
        "sparseness": get_explanation_scorer("sparseness"),
    }
    cv = KFold(2)  # explainers are not refitted: folds only average the score

    lime = GridSearchCV(
        LimeExplainer(FrozenEstimator(cnn), random_state=0),
        {
            "n_samples": [100, 300] if args.quick else [100, 500, 1000],
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
    ig = GridSearchCV(
        IntegratedGradientsExplainer(FrozenEstimator(cnn), n_steps=32),
        {"baseline": ["zeros", "mean", "blur"]},
        scoring=scoring,
        refit="deletion",
        cv=cv,
    ).fit(X_tune, y_tune)

    for name, search in (("LIME", lime), ("Integrated Gradients", ig)):
        table = pd.DataFrame(search.cv_results_["params"])
        table["deletion AUC"] = -search.cv_results_["mean_test_deletion"]
        table["sparseness"] = search.cv_results_["mean_test_sparseness"]
        print(f"\n{name}: lower deletion AUC is better")
        print(table.sort_values("deletion AUC").to_string(index=False))
        print(f"winning settings: {search.best_params_}")
    return lime.best_params_, ig.best_params_


if __name__ == "__main__":
    main()
