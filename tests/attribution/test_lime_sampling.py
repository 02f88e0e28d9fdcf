"""LIME's sampling designs, weighted ridge, standard errors and n_samples="auto".

Every design must estimate lime's quantity (the kernel-weighted ridge over
lime's uniform masks), which is checked against an exact enumeration of all
masks, a model whose LIME weights are known in closed form, scikit-learn's
Ridge and the textbook sandwich formulas.
"""

from math import comb

import numpy as np
import pytest
from scipy.linalg import sqrtm
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import pairwise_distances
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_xai.attribution import LimeExplainer
from sklearn_xai.attribution._convergence import is_settled
from sklearn_xai.attribution._lime import AUTO_RULE, lime_kernel
from sklearn_xai.attribution._lime_sampling import (
    SAMPLINGS,
    make_design,
    size_kernel,
    weighted_ridge,
)
from sklearn_xai.datasets import load_digit_images
from tests._counting import CountingModel

DEFAULT = LimeExplainer(None).sampling


def cosine_kernel(n_segments, width=0.25):
    """LIME's kernel of a mask's cosine distance to the all-ones mask."""

    def kernel(masks):
        distances = pairwise_distances(masks, np.ones((1, n_segments)), metric="cosine")
        return lime_kernel(distances.ravel(), width)

    return kernel


def seeded(explainer, seeds):
    """Make the i-th image of a call draw from ``seeds[i]`` (copies of one image
    then give independent explanations in one call)."""
    explainer._image_seeds = lambda images: list(seeds)[: len(images)]
    return explainer


@pytest.fixture(scope="module")
def digits():
    """8x8 digits and a logistic regression pipeline on their pixels."""
    X, y = load_digit_images(return_X_y=True)
    flat = X.reshape(len(X), -1).astype(np.float64)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    return flat, clf.fit(flat, y)


# -- the weighted ridge -------------------------------------------------------


@pytest.mark.parametrize("alpha", [1.0, 0.01, 30.0])
def test_weighted_ridge_equals_sklearn_ridge(alpha):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, (120, 15))
    y = X @ rng.normal(size=15) + rng.normal(size=120)
    w = rng.exponential(size=120)
    fit = weighted_ridge(X, y, w, alpha=alpha)
    ridge = Ridge(alpha=alpha).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(fit.coef, ridge.coef_, rtol=1e-10, atol=1e-12)
    assert fit.intercept == pytest.approx(ridge.intercept_, rel=1e-10)
    assert fit.score == pytest.approx(ridge.score(X, y, sample_weight=w), rel=1e-10)


def test_stderr_is_the_textbook_hc2_sandwich():
    """Without penalty, every row its own cluster: HC2 of weighted least squares."""
    rng = np.random.default_rng(1)
    X = rng.integers(0, 2, (80, 6)).astype(float)
    y = X @ rng.normal(size=6) + rng.normal(size=80) * (1 + X[:, 0])
    w = rng.exponential(size=80)
    fit = weighted_ridge(X, y, w, alpha=0.0)
    X1 = np.hstack([np.ones((80, 1)), X])
    bread = np.linalg.inv(X1.T @ np.diag(w) @ X1)
    beta = bread @ X1.T @ (w * y)
    e = y - X1 @ beta
    h = w * np.einsum("ij,jk,ik->i", X1, bread, X1)
    meat = X1.T @ np.diag(w**2 * e**2 / (1 - h)) @ X1
    expected = np.sqrt(np.diag(bread @ meat @ bread))[1:]
    np.testing.assert_allclose(fit.stderr, expected, rtol=1e-8)
    assert fit.dof == pytest.approx(7.0)


def test_cluster_stderr_is_cr2_and_fixed_rows_add_no_variance():
    rng = np.random.default_rng(2)
    X = rng.integers(0, 2, (61, 5)).astype(float)
    X[2::2] = 1 - X[1:-1:2]  # complementary pairs (1, 2), (3, 4), ...
    y = np.sin(X @ rng.normal(size=5)) + 0.1 * rng.normal(size=61)
    w = rng.uniform(0.2, 1.0, size=61)
    clusters = np.concatenate([[-1], np.arange(60) // 2])
    fit = weighted_ridge(X, y, w, alpha=1.0, clusters=clusters)
    # Bell & McCaffrey's CR2, from the full hat matrix, row 0 left out.
    X1 = np.hstack([np.ones((61, 1)), X])
    penalty = np.diag([0.0] + [1.0] * 5)
    bread = np.linalg.inv(X1.T @ np.diag(w) @ X1 + penalty)
    e = y - X1 @ np.concatenate([[fit.intercept], fit.coef])
    Z, u = np.sqrt(w)[:, None] * X1, np.sqrt(w) * e
    H = Z @ bread @ Z.T
    meat = np.zeros((6, 6))
    for g in range(30):
        rows = [1 + 2 * g, 2 + 2 * g]
        adjusted = np.real(sqrtm(np.linalg.inv(np.eye(2) - H[np.ix_(rows, rows)])))
        score = Z[rows].T @ adjusted @ u[rows]
        meat += np.outer(score, score)
    expected = np.sqrt(np.diag(bread @ meat @ bread))[1:]
    np.testing.assert_allclose(fit.stderr, expected, rtol=1e-8)


def test_exact_linear_response_has_zero_stderr():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 2, (50, 8))
    fit = weighted_ridge(X, 0.3 + X @ np.linspace(-1, 1, 8), np.ones(50), alpha=1e-10)
    np.testing.assert_allclose(fit.coef, np.linspace(-1, 1, 8), atol=1e-8)
    assert fit.stderr.max() < 1e-6 and fit.score == pytest.approx(1.0)


# -- the designs --------------------------------------------------------------


def draw(sampling, n_segments, n, seed=0, rounds=1):
    design = make_design(
        sampling, n_segments, np.random.RandomState(seed), cosine_kernel(n_segments)
    )
    parts = [design.draw(n // rounds) for _ in range(rounds)]
    return [np.concatenate(p) for p in zip(*parts, strict=True)]


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_designs_start_with_the_unperturbed_image(sampling):
    masks, clusters, ratio = draw(sampling, 12, 41)
    assert masks.shape == (41, 12) and set(np.unique(masks)) <= {0, 1}
    assert masks[0].all() and clusters[0] == -1 and ratio[0] == 1.0
    assert (clusters[1:] >= 0).all() and (ratio > 0).all()


@pytest.mark.parametrize("sampling", ["paired", "sobol", "balanced"])
def test_paired_designs_are_complementary_pairs(sampling):
    masks, clusters, ratio = draw(sampling, 20, 1 + 64, rounds=1)
    rows = masks[1:]
    assert (rows[0::2] + rows[1::2] == 1).all()
    assert (clusters[1::2] == clusters[2::2]).all()
    assert len(np.unique(clusters[1:])) == 32
    np.testing.assert_array_equal(ratio, 1.0)
    if sampling in ("sobol", "balanced"):
        # Balanced: every segment kept in half the 64 rows, every two
        # together in a quarter (an orthogonal design).
        np.testing.assert_array_equal(rows.sum(axis=0), 32)
        signs = 2.0 * rows - 1
        np.testing.assert_array_equal(signs.T @ signs, 64 * np.eye(20))


def test_paired_design_keeps_pairs_across_odd_rounds():
    design = make_design("paired", 10, np.random.RandomState(0), cosine_kernel(10))
    parts = [design.draw(m) for m in (4, 3, 5, 3)]
    masks = np.concatenate([p[0] for p in parts])[1:]
    clusters = np.concatenate([p[1] for p in parts])[1:]
    assert (masks[0::2] + masks[1::2] == 1).all()
    np.testing.assert_array_equal(clusters, np.arange(14) // 2)


def test_balanced_design_is_orthogonal_in_rounds_with_random_aliasing():
    def rows(seed):
        design = make_design("balanced", 40, np.random.RandomState(seed), None)
        parts = [design.draw(m)[0] for m in (129, 64, 64)]
        return np.concatenate(parts)[1:]

    signs = 2.0 * rows(0) - 1
    # 2**(m-1) >= 40 distinct generators: every 128 rows are orthogonal.
    for block in (signs[:128], signs[128:]):
        np.testing.assert_array_equal(block.T @ block, 128 * np.eye(40))

    # The generators are random: which column repeats the product of three
    # others (the interaction aliased with its weight; the pairs keep every
    # two-segment interaction off the weights) changes with the seed.
    def aliased(signs):
        products = signs[:128, 0] * signs[:128, 1] * signs[:128, 2]
        return {j for j in range(3, 40) if abs(products @ signs[:128, j]) == 128}

    assert len({frozenset(aliased(2.0 * rows(seed) - 1)) for seed in range(6)}) > 1


@pytest.mark.parametrize("sampling", ["lime", "paired", "sobol", "balanced"])
def test_uniform_designs_keep_each_segment_half_the_time(sampling):
    masks, _, _ = draw(sampling, 30, 4001)
    keep = masks[1:].mean(axis=0)
    assert np.abs(keep - 0.5).max() < 0.04


def test_kernel_design_draws_sizes_in_proportion_to_kernel_mass():
    d, n = 12, 6001
    masks, _, ratio = draw("kernel", d, n, rounds=3)
    kernel = size_kernel(cosine_kernel(d), d)
    mass = np.array([comb(d, k) for k in range(d + 1)]) * kernel
    expected = (n - 1) * mass / mass.sum()
    counts = np.bincount(masks[1:].sum(axis=1), minlength=d + 1)
    # Stratified: each count is within one per round of its expectation.
    assert np.abs(counts - expected).max() <= 3
    # One importance weight, E_p[pi] = sum_k C(d, k) 2**-d pi(k).
    expected_kernel = mass.sum() / 2**d
    np.testing.assert_allclose(
        ratio[1:] * kernel[masks[1:].sum(axis=1)], expected_kernel, rtol=1e-10
    )


def test_kernel_design_draws_without_replacement_within_a_size():
    d = 6
    masks, _, _ = draw("kernel", d, 1 + 300, rounds=4)
    rows = masks[1:]
    for k in range(d + 1):
        of_size = rows[rows.sum(axis=1) == k]
        n_subsets = comb(d, k)
        # Every pass over a size's subsets is complete before one repeats.
        _, counts = np.unique(of_size, axis=0, return_counts=True)
        if len(of_size):
            assert counts.max() - counts.min() <= 1
            assert len(counts) == min(n_subsets, len(of_size))


# -- the same quantity as lime ------------------------------------------------


class _Bumpy:
    """A two-class model of a 4x4 grey image: the mean of each 2x2 quadrant,
    through a sigmoid with interactions (not linear in the quadrants)."""

    classes_ = np.array([0, 1])

    def fit(self, X, y=None):
        return self

    def predict_proba(self, X):
        q = X.reshape(len(X), 2, 2, 2, 2).mean(axis=(2, 4)).reshape(len(X), 4)
        logit = (
            q @ [2.0, -1.0, 1.5, 0.5] + 3 * q[:, 0] * q[:, 1] - 2 * q[:, 2] * q[:, 3]
        )
        p = 1 / (1 + np.exp(-(logit - 1)))
        return np.column_stack([1 - p, p])


def exact_lime_target(model, image, n_samples, width=0.25):
    """lime's quantity, by enumerating all 16 masks of the 4 quadrants.

    The fixed first row (unperturbed, weight 1) plus ``n - 1`` times lime's
    expectation over uniform masks: every mask with weight
    ``(n - 1) 2**-4 pi(z)``; fitted with scikit-learn's Ridge(alpha=1).
    """
    masks = (np.arange(16)[:, None] >> np.arange(4)) & 1
    quadrant = np.repeat(np.repeat(np.arange(4).reshape(2, 2), 2, 0), 2, 1)
    images = np.where(masks[:, quadrant], image, 0.0)
    y = model.predict_proba(images.reshape(16, -1))[:, 1]
    w = (n_samples - 1) / 16 * cosine_kernel(4, width)(masks)
    X = np.vstack([np.ones((1, 4)), masks])
    y = np.concatenate([model.predict_proba(image.reshape(1, -1))[:, 1], y])
    w = np.concatenate([[1.0], w])
    return Ridge(alpha=1.0).fit(X, y, sample_weight=w).coef_


@pytest.mark.parametrize("control_variate", [False, True])
@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_every_design_estimates_lime_quantity(sampling, control_variate):
    image = np.array(
        [
            [0.9, 0.8, 0.2, 0.1],
            [0.7, 1.0, 0.3, 0.2],
            [0.5, 0.6, 0.9, 0.8],
            [0.4, 0.6, 0.7, 1.0],
        ]
    )
    n, repeats = 40, 300
    target = exact_lime_target(_Bumpy(), image, n)
    explainer = LimeExplainer(
        FrozenEstimator(_Bumpy()),
        segmentation="grid",
        n_samples=n,
        sampling=sampling,
        control_variate=control_variate,
        feature_selection="none",
        image_shape=(4, 4),
    ).fit(image.reshape(1, -1))
    seeded(explainer, range(repeats))
    _, details = explainer.explain(
        np.repeat(image.reshape(1, -1), repeats, axis=0), target=1, return_details=True
    )
    weights = np.array(details.segment_weights)
    assert details.segments[0].max() == 3  # the 2x2 quadrants
    quadrant_of = details.segments[0][::2, ::2].ravel()  # segment of each quadrant
    mean = np.zeros(4)
    mean[[0, 1, 2, 3]] = weights.mean(axis=0)[quadrant_of]
    spread = weights.std(axis=0).max() / np.sqrt(repeats)
    # Within 4 standard errors of the mean and 5% of the largest weight (a
    # ridge on n = 40 rows has an O(1/n) bias).
    tolerance = 4 * spread + 0.05 * np.abs(target).max()
    np.testing.assert_allclose(mean, target, atol=tolerance)


class _Linear:
    """A two-class model whose probability is linear in the pixels:
    ``p = 0.2 + x @ coef``; with black hiding and a grid, LIME's regression
    has no residual and its weights are known in closed form."""

    classes_ = np.array([0, 1])

    def __init__(self, coef):
        self.coef = coef

    def fit(self, X, y=None):
        return self

    def predict_proba(self, X):
        p = 0.2 + X.reshape(len(X), -1) @ self.coef
        return np.column_stack([1 - p, p])


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_weights_of_a_linear_model_in_closed_form(sampling):
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 1, (8, 8))
    coef = rng.uniform(-1, 1, 64) / 200
    explainer = LimeExplainer(
        FrozenEstimator(_Linear(coef)),
        segmentation="grid",
        n_samples=2000,
        sampling=sampling,
        image_shape=(8, 8),
        random_state=0,
    ).fit(image.reshape(1, -1))
    _, details = explainer.explain(image.reshape(1, -1), target=1, return_details=True)
    segments = details.segments[0].ravel()
    # Hiding segment j removes sum_{pixels in j} coef * x: that is its weight
    # (up to the ridge's shrinkage, alpha / (n E_p[pi] Var z) < 1% here).
    exact = np.bincount(segments, weights=coef * image.ravel())
    np.testing.assert_allclose(
        details.segment_weights[0], exact, rtol=0.01, atol=1e-3 * np.abs(exact).max()
    )
    # No residual but the ridge's shrinkage: next to no error.
    assert details.segment_stderr[0].max() < 1e-3 * np.abs(exact).max()
    assert details.score[0] > 0.9999
    assert details.local_pred[0] == pytest.approx(0.2 + coef @ image.ravel(), abs=1e-3)


# -- standard errors: reported against observed -------------------------------


def stderr_ratio(digits, sampling, n_samples, repeats, image=0, **kw):
    """Observed sd of each weight over seeds / mean reported stderr: median."""
    weights, stderr = seeded_weights(digits, sampling, n_samples, repeats, image, **kw)
    return np.median(weights.std(axis=0, ddof=1) / stderr.mean(axis=0))


def seeded_weights(digits, sampling, n_samples, repeats, image=0, **kw):
    """Weights and standard errors of ``repeats`` seeds of one digit."""
    flat, clf = digits
    explainer = LimeExplainer(
        FrozenEstimator(clf),
        segmentation="grid",
        n_samples=n_samples,
        sampling=sampling,
        image_shape=(8, 8),
        **kw,
    ).fit(flat[:5])
    seeded(explainer, range(repeats))
    _, details = explainer.explain(
        np.repeat(flat[image : image + 1], repeats, axis=0), return_details=True
    )
    return np.array(details.segment_weights), np.array(details.segment_stderr)


@pytest.mark.parametrize("sampling", sorted({DEFAULT, "lime"}))
def test_reported_stderr_matches_observed_spread(digits, sampling):
    # 150 independent explanations of one digit (16 segments, 250 samples):
    # the sd of each weight over seeds, over its mean reported stderr (the
    # default design with its default control variate, lime's draws without).
    ratio = stderr_ratio(digits, sampling, 250, 150)
    assert 0.8 <= ratio <= 1.25, ratio


@pytest.mark.parametrize("image", [0, 7])
def test_control_variate_stderr_matches_observed_spread(digits, image):
    # The surrogate control's errors (cross-fitted residuals plus the pool's
    # replicates) leave out the surrogate's own fitting noise: measured 1.13
    # and 1.21 on these digits, where the surrogate is nearly exact.
    ratio = stderr_ratio(digits, DEFAULT, 250, 150, image=image, control_variate=True)
    assert 0.8 <= ratio <= 1.25, ratio


def test_control_variate_reduces_the_spread(digits):
    # A logistic regression on pixels: its logits are linear in the masks,
    # which the surrogate's logit model follows; the weights' sd over seeds
    # drops about five-fold (measured 0.02-0.028 without, 0.004-0.006 with).
    plain, _ = seeded_weights(digits, DEFAULT, 250, 60, 7, control_variate=False)
    controlled, _ = seeded_weights(digits, DEFAULT, 250, 60, 7, control_variate=True)
    assert np.median(controlled.std(axis=0) / plain.std(axis=0)) < 0.4
    # Same quantity: the two means agree within their standard errors.
    gap = np.abs(controlled.mean(axis=0) - plain.mean(axis=0))
    np.testing.assert_array_less(gap, 4 * plain.std(axis=0) / np.sqrt(60) + 1e-3)


def test_control_variate_is_reported_and_off_for_lime_draws(digits):
    flat, clf = digits
    flags = {}
    for sampling, control in (
        ("balanced", "auto"),
        ("lime", "auto"),
        ("balanced", False),
        ("lime", True),
    ):
        explainer = LimeExplainer(
            FrozenEstimator(clf),
            segmentation="grid",
            n_samples=100,
            sampling=sampling,
            control_variate=control,
            image_shape=(8, 8),
            random_state=0,
        ).fit(flat[:5])
        _, details = explainer.explain(flat[:2], return_details=True)
        flags[sampling, control] = details.control_variate.tolist()
    assert flags == {
        ("balanced", "auto"): [True, True],
        ("lime", "auto"): [False, False],
        ("balanced", False): [False, False],
        ("lime", True): [True, True],
    }


@pytest.mark.slow
@pytest.mark.parametrize("sampling", SAMPLINGS)
@pytest.mark.parametrize("image", [0, 7])
def test_reported_stderr_of_every_design(digits, sampling, image):
    # The designs' own errors, without the control variate.
    ratio = stderr_ratio(digits, sampling, 250, 400, image=image, control_variate=False)
    if sampling == "sobol":
        # Pairs of one scrambled net are not independent: the formula for
        # independent pairs is conservative (reports at least the spread).
        assert 0.3 <= ratio <= 1.25, ratio
    else:
        assert 0.85 <= ratio <= 1.18, ratio


# -- n_samples="auto" ---------------------------------------------------------


def test_auto_stops_when_the_ranking_is_settled(digits):
    flat, clf = digits
    explainer = LimeExplainer(
        FrozenEstimator(clf),
        segmentation="grid",
        n_samples="auto",
        max_samples=1500,
        image_shape=(8, 8),
        random_state=0,
    ).fit(flat[:5])
    _, details = explainer.explain(flat[:6], return_details=True)
    used = details.n_evaluations
    assert used.dtype.kind == "i" and used.shape == (6,)
    assert (used >= 129).all() and (used <= 1500).all()
    assert used.min() < 1500  # some image settled before the budget
    for weights, stderr, n in zip(
        details.segment_weights, details.segment_stderr, used, strict=True
    ):
        assert n == 1500 or is_settled(weights, stderr, **AUTO_RULE)


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_auto_samples_in_rounds_up_to_max_samples(sampling):
    rng = np.random.default_rng(0)
    images = rng.random((2, 16, 16))

    class Noisy:
        """Probabilities with no pattern in the masks: never settled."""

        classes_ = np.array([0, 1])

        def fit(self, X, y=None):
            return self

        def predict_proba(self, X):
            p = np.random.default_rng(int(X.sum() * 1e6) % 2**32).uniform(
                0.4, 0.6, len(X)
            )
            return np.column_stack([1 - p, p])

    base = dict(segmentation="grid", sampling=sampling, random_state=0)
    auto = LimeExplainer(
        FrozenEstimator(Noisy()), n_samples="auto", max_samples=334, **base
    ).fit(images)
    _, details = auto.explain(images, return_details=True)
    # 50 segments: rounds of 257 (the image and 256 = 4 * 51 draws rounded up
    # to a power of two), 64 and 13, then the budget is spent.
    np.testing.assert_array_equal(details.n_evaluations, [334, 334])
    # A budget within the first round is that many samples, drawn as a
    # fixed n_samples draws them.
    small = clone(auto).set_params(max_samples=60).fit(images)
    fixed = LimeExplainer(FrozenEstimator(Noisy()), n_samples=60, **base).fit(images)
    np.testing.assert_array_equal(small.explain(images), fixed.explain(images))


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_auto_is_deterministic_and_cached(digits, sampling, tmp_path):
    flat, clf = digits
    explainer = LimeExplainer(
        FrozenEstimator(CountingModel(clf)),
        segmentation="grid",
        n_samples="auto",
        sampling=sampling,
        image_shape=(8, 8),
        random_state=1,
        memory=str(tmp_path),
    ).fit(flat[:5])
    first, details = explainer.explain(flat[:3], return_details=True)
    calls = len(CountingModel.calls)
    again = clone(explainer).fit(flat[:5])
    np.testing.assert_array_equal(again.explain(flat[:3]), first)
    # fit's check and explain's predicted classes only: the rounds are cached.
    assert len(CountingModel.calls) == calls + 2
    parallel = clone(explainer).set_params(memory=None, n_jobs=2).fit(flat[:5])
    np.testing.assert_array_equal(parallel.explain(flat[:3]), first)
    assert np.isfinite(np.concatenate(details.segment_stderr)).all()


def test_parameters_are_validated(digits):
    flat, clf = digits
    for params, message in [
        ({"sampling": "random"}, "sampling"),
        ({"n_samples": "many"}, "n_samples"),
        ({"max_samples": 1}, "max_samples"),
    ]:
        explainer = LimeExplainer(
            FrozenEstimator(clf), segmentation="grid", image_shape=(8, 8), **params
        )
        with pytest.raises(ValueError, match=message):
            explainer.fit(flat[:5])


def test_control_variate_with_every_mask_as_pool(digits):
    # 9 superpixels (3x3 blocks): the surrogate's weights come from all 512
    # masks, exactly; the pool adds no error. Measured: spread 0.003 against
    # 0.014-0.016 without, observed / reported 0.92-1.00, same means.
    flat, clf = digits

    def blocks(image):
        return (np.arange(8)[:, None] // 3) * 3 + np.arange(8)[None, :] // 3

    def weights(control_variate, repeats=100):
        explainer = LimeExplainer(
            FrozenEstimator(clf),
            segmentation=blocks,
            n_samples=120,
            control_variate=control_variate,
            image_shape=(8, 8),
        ).fit(flat[:5])
        seeded(explainer, range(repeats))
        _, details = explainer.explain(
            np.repeat(flat[7:8], repeats, axis=0), return_details=True
        )
        assert details.control_variate.all() == control_variate
        return np.array(details.segment_weights), np.array(details.segment_stderr)

    plain, _ = weights(False)
    controlled, stderr = weights(True)
    assert controlled.shape[1] == 9
    assert np.median(controlled.std(axis=0) / plain.std(axis=0)) < 0.4
    ratio = np.median(controlled.std(axis=0, ddof=1) / stderr.mean(axis=0))
    assert 0.8 <= ratio <= 1.25, ratio
    gap = np.abs(controlled.mean(axis=0) - plain.mean(axis=0))
    np.testing.assert_array_less(gap, 4 * plain.std(axis=0) / np.sqrt(100) + 1e-3)


@pytest.mark.parametrize("forced", [True, np.True_])
def test_control_variate_true_warns_where_it_cannot_apply(digits, forced):
    # 16 segments need 4 * 17 = 68 samples for the control variate: at 40 it
    # is not applied, and an explicit True says so (plain estimate kept).
    flat, clf = digits
    explainer = LimeExplainer(
        FrozenEstimator(clf),
        segmentation="grid",
        n_samples=40,
        control_variate=forced,
        image_shape=(8, 8),
        random_state=0,
    ).fit(flat[:5])
    with pytest.warns(UserWarning, match="could not correct 2 of 2"):
        _, details = explainer.explain(flat[:2], return_details=True)
    assert not details.control_variate.any()
    plain = clone(explainer).set_params(control_variate=False).fit(flat[:5])
    _, expected = plain.explain(flat[:2], return_details=True)
    np.testing.assert_array_equal(
        np.array(details.segment_weights), np.array(expected.segment_weights)
    )
