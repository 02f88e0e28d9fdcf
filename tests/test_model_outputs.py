"""Models whose predict_proba is not (n_images, n_classes) are refused clearly.

Issue 12, section 3: a multi-output classifier, or a ``predict_proba`` that
returns ``(n,)``, a list of arrays or the wrong number of columns, is a
ValueError naming ``predict_proba`` and what it returned -- at ``fit`` (the
explainers probe the model on one image) and at every later model call
(explainers' ``explain`` and the metrics) -- never an IndexError, an AxisError
or numpy's "inhomogeneous shape" from deep inside.
"""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression

from sklearn_xai._adapter import batched_predict_proba, fit_model, model_classes
from sklearn_xai.attribution import (
    KernelShapExplainer,
    LimeExplainer,
    OcclusionExplainer,
    RISEExplainer,
)
from sklearn_xai.metrics import deletion_auc, faithfulness_correlation, max_sensitivity

SIZE = 6


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.random((40, SIZE * SIZE)).astype(np.float32)
    y = (X[:, :18].mean(1) > X[:, 18:].mean(1)).astype(int) + 2 * (X[:, 0] > 0.5)
    return X, y


class BadProba(ClassifierMixin, BaseEstimator):
    """A logistic regression whose predict_proba returns the wrong thing.

    ``late=True`` misbehaves only on batches of more than one image, so a
    one-image probe passes and the first real model call must catch it.
    """

    def __init__(self, kind="ok", late=False):
        self.kind = kind
        self.late = late

    def fit(self, X, y):
        self.model_ = LogisticRegression(max_iter=200).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        p = self.model_.predict_proba(X)
        if self.late and len(X) == 1:
            return p
        return {
            "ok": p,
            "rows": list(p),  # a list of (k,) rows is an (n, k) array
            "1d": p[:, 1],
            "list": [p, p],
            "ragged": [p, p[:, :2]],
            "extra-column": np.column_stack([p, p[:, :1]]),
            "missing-column": p[:, :-1],
            "transposed": p.T,
            "strings": p.astype(str).astype(object) + "x",
        }[self.kind]


BAD_KINDS = {
    "1d": r"returned shape \((1|2),\)",
    "list": r"returned shape \(2, (1|2), 4\)",
    "ragged": r"returned a list of 2 items of shapes \((1|2), 4\), \((1|2), 2\)",
    "extra-column": r"= \((1|2), 4\); it returned shape \((1|2), 5\)",
    "missing-column": r"= \((1|2), 4\); it returned shape \((1|2), 3\)",
    "transposed": r"returned shape \(4, (1|2)\)",
    "strings": "not a rectangular numeric array",
}


def _multi_output(data, second):
    X, y = data
    Y = np.column_stack([y, second(y)])
    return RandomForestClassifier(n_estimators=3, random_state=0).fit(X, Y)


MULTI_OUTPUT = {
    "multi-output-ragged": (
        lambda y: y % 2,
        r"\(n_images, 4\), \(n_images, 2\)|classes_ .* ragged arrays",
    ),
    "multi-output-equal": (
        lambda y: 3 - y,
        r"\(n_images, 4\), \(n_images, 4\)|classes_ .* shape \(2, 4\)",
    ),
}


@pytest.fixture(scope="module")
def bad_models(data):
    """Frozen models that fail the one-image probe of fit."""
    return _bad_models(data, late=False)


@pytest.fixture(scope="module")
def late_models(data):
    """Frozen models that pass the probe and fail on larger batches."""
    return _bad_models(data, late=True)


def _bad_models(data, late):
    X, y = data
    models = {
        kind: (FrozenEstimator(BadProba(kind, late=late).fit(X, y)), match)
        for kind, match in BAD_KINDS.items()
    }
    if not late:
        for name, (second, match) in MULTI_OUTPUT.items():
            models[name] = (FrozenEstimator(_multi_output(data, second)), match)
    return models


EXPLAINERS = {
    "lime": lambda m: LimeExplainer(
        m, segmentation="grid", n_samples=20, random_state=0
    ),
    "occlusion": lambda m: OcclusionExplainer(m, window=2, stride=2),
    "rise": lambda m: RISEExplainer(m, n_masks=10, mask_size=2, random_state=0),
    "kernel-shap": lambda m: KernelShapExplainer(
        m, segmentation="grid", n_samples=20, random_state=0
    ),
}

ALL_KINDS = [*BAD_KINDS, *MULTI_OUTPUT]


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("explainer", list(EXPLAINERS))
def test_explainer_fit_refuses_bad_outputs(data, bad_models, explainer, kind):
    X, _ = data
    model, match = bad_models[kind]
    est = EXPLAINERS[explainer](model).set_params(image_shape=(SIZE, SIZE))
    with pytest.raises(ValueError, match="predict_proba") as info:
        est.fit(X)
    assert info.match(match)


@pytest.mark.parametrize("kind", list(BAD_KINDS))
@pytest.mark.parametrize("explainer", list(EXPLAINERS))
@pytest.mark.parametrize("target", [None, 0], ids=["predicted", "given"])
def test_explainer_explain_refuses_bad_outputs(
    data, late_models, explainer, kind, target
):
    # The model passes the one-image probe of fit and fails on batches.
    X, _ = data
    model, match = late_models[kind]
    est = EXPLAINERS[explainer](model).set_params(image_shape=(SIZE, SIZE))
    est.fit(X)
    with pytest.raises(ValueError, match="predict_proba must return") as info:
        est.explain(X[:2], target)
    assert info.match(match.replace("(1|2)", r"\d+"))


def _metric_calls(model, X, maps):
    return {
        "deletion_auc": lambda: deletion_auc(model, X, maps, image_shape=(SIZE, SIZE)),
        "deletion_auc-targets": lambda: deletion_auc(
            model, X, maps, targets=[0, 1], image_shape=(SIZE, SIZE)
        ),
        "faithfulness_correlation": lambda: faithfulness_correlation(
            model, X, maps, n_runs=5, image_shape=(SIZE, SIZE), random_state=0
        ),
    }


METRICS = ["deletion_auc", "deletion_auc-targets", "faithfulness_correlation"]


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("metric", METRICS)
def test_metrics_refuse_bad_outputs(data, bad_models, metric, kind):
    X, _ = data
    model, match = bad_models[kind]
    maps = np.random.default_rng(0).random((2, SIZE, SIZE))
    with pytest.raises(ValueError, match="predict_proba") as info:
        _metric_calls(model, X[:2], maps)[metric]()
    assert info.match(match.replace("(1|2)", r"\d+"))


@pytest.mark.parametrize("kind", list(BAD_KINDS))
def test_max_sensitivity_refuses_bad_outputs(data, late_models, kind):
    X, _ = data
    model, match = late_models[kind]
    explainer = OcclusionExplainer(model, window=2, stride=2, image_shape=(SIZE, SIZE))
    explainer.fit(X)
    with pytest.raises(ValueError, match="predict_proba must return") as info:
        max_sensitivity(explainer, X[:2], n_samples=2, random_state=0)
    assert info.match(match.replace("(1|2)", r"\d+"))


@pytest.mark.parametrize("kind", ["ok", "rows"])
def test_well_formed_outputs_work(data, kind):
    X, y = data
    model = FrozenEstimator(BadProba(kind).fit(X, y))
    expected = model.predict_proba(X[:3])
    for make in EXPLAINERS.values():
        est = make(model).set_params(image_shape=(SIZE, SIZE)).fit(X)
        assert est.explain(X[:3]).shape == (3, SIZE, SIZE)
    proba = batched_predict_proba(
        model, X[:3, None, :, None], layout_ndim=2, batch_size=2
    )
    np.testing.assert_allclose(proba, np.asarray(expected, dtype=np.float64), rtol=1e-6)
    maps = np.random.default_rng(0).random((3, SIZE, SIZE))
    auc = deletion_auc(model, X[:3], maps, image_shape=(SIZE, SIZE))
    assert np.all(np.isfinite(auc))


# -- the adapter's checks themselves ------------------------------------------------


def test_model_classes_errors(data):
    X, y = data
    with pytest.raises(ValueError, match="multi-output classifier: its predict_proba"):
        model_classes(_multi_output(data, lambda y: y % 2))
    with pytest.raises(TypeError, match="classes_ attribute"):
        model_classes(LogisticRegression())
    model = BadProba().fit(X, y)
    model.classes_ = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"classes_ must be 1-D.*\(2, 2\)"):
        model_classes(model)
    assert model_classes(BadProba().fit(X, y)).tolist() == [0, 1, 2, 3]


def test_fit_model_refuses_multi_output(data):
    X, y = data
    Y = np.column_stack([y, y % 2])
    with pytest.raises(ValueError, match="multi-output classifier"):
        fit_model(RandomForestClassifier(n_estimators=2), X, Y, owner="test")


def test_batched_predict_proba_checks_every_batch(data):
    X, y = data
    model = BadProba("1d", late=True).fit(X, y)
    images = X[:3, None, :, None]
    # Batches of one are well formed; a batch of two is not.
    assert batched_predict_proba(model, images, layout_ndim=2, batch_size=1).shape == (
        3,
        4,
    )
    with pytest.raises(ValueError, match=r"= \(2, 4\); it returned shape \(2,\)"):
        batched_predict_proba(model, images, layout_ndim=2, batch_size=2)
