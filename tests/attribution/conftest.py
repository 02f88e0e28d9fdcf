"""Fixtures shared by the attribution tests."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from sklearn_xai.datasets import load_digit_images


@pytest.fixture(scope="module")
def gray_digits():
    """16x16 grey digits (float64) and a logistic regression on their pixels."""
    X, y = load_digit_images(size=16, return_X_y=True)
    X = X.astype(np.float64)
    clf = LogisticRegression(max_iter=300).fit(X[:600].reshape(600, -1), y[:600])
    return X, clf
