"""A classifier wrapper that records its model calls, for tests of caching."""


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
