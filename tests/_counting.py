"""Classifiers that record their model calls, for tests of caching and batching."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class CountingModel:
    """Delegates to a fitted classifier; records the rows of each predict_proba.

    ``calls`` is kept on the class, not the instance, so that calls made by
    clones, copies and joblib workers in the same process are all seen; a
    test clears it before counting.
    """

    calls = []

    def __init__(self, model):
        self.model = model
        self.classes_ = model.classes_

    def fit(self, X, y=None):
        return self

    def predict_proba(self, X):
        CountingModel.calls.append(len(X))
        return self.model.predict_proba(X)


class BatchRecorder(ClassifierMixin, BaseEstimator):
    """Keeps a copy of every batch; class 1 more likely for brighter images.

    ``P(class 1) = sigmoid(mean pixel / scale - offset)``.
    """

    def __init__(self, seen=None, scale=1.0, offset=0.5):
        self.seen = seen
        self.scale = scale
        self.offset = offset

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        X = np.array(X)  # a copy: the explainer may reuse its buffer
        self.seen.append(X)
        mean = X.reshape(len(X), -1).mean(axis=1)
        p = 1 / (1 + np.exp(-(mean / self.scale - self.offset)))
        return np.column_stack([1 - p, p])


def count_calls(monkeypatch, module, name):
    """Wrap ``module.name`` to record each call; returns the record (a list).

    The wrapper calls the original, so behaviour is unchanged; ``monkeypatch``
    restores it after the test.
    """
    calls = []
    original = getattr(module, name)

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls
