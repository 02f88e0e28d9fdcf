"""Figures are drawn with the Agg backend, read back as pixels and closed."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def render():
    """The RGB pixels ``(rows, cols, 3)`` of a drawn figure."""

    def draw(figure):
        figure.canvas.draw()
        return np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()

    return draw


@pytest.fixture
def pixel_at():
    """The rendered RGB of data point ``(x, y)`` of ``ax`` (an image's column, row)."""

    def read(pixels, ax, x, y):
        dx, dy = ax.transData.transform((x, y))
        row = int(np.floor(pixels.shape[0] - dy))
        return pixels[row, int(np.floor(dx))].astype(int)

    return read


@pytest.fixture(scope="session")
def digits():
    """300 flattened 8x8 digit images in [0, 1] and their labels."""
    from sklearn_xai.datasets import load_digit_images

    X, y = load_digit_images(return_X_y=True)
    return X[:300].reshape(300, -1).astype(np.float64), y[:300]


@pytest.fixture(scope="session")
def classifier(digits):
    from sklearn.linear_model import LogisticRegression

    X, y = digits
    return LogisticRegression(max_iter=300).fit(X, y)


@pytest.fixture(scope="session")
def occlusion(digits, classifier):
    """A fitted occlusion explainer of the classifier (frozen: no refit)."""
    from sklearn.frozen import FrozenEstimator

    from sklearn_xai.attribution import OcclusionExplainer

    X, _ = digits
    explainer = OcclusionExplainer(
        FrozenEstimator(classifier), window=2, stride=1, image_shape=(8, 8)
    )
    return explainer.fit(X)
