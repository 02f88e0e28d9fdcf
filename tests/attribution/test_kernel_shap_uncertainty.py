"""Kernel SHAP's standard errors, n_samples="auto" and the control variate.

References are exact Shapley values by enumeration: of the whole game
through the explainer (a budget that covers every coalition is exact), or by
the Shapley formula in ``exact_shapley`` below.
"""

from math import comb, factorial

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator

from sklearn_xai.attribution import KernelShapExplainer
from sklearn_xai.attribution._control_variate import SigmoidGame
from sklearn_xai.attribution._convergence import is_settled
from sklearn_xai.attribution._shapley_regression import solve_shapley
from sklearn_xai.attribution._shapley_sampling import (
    _PairDesign,
    _Sample,
    _SampledGame,
    sample_coalitions,
)
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.neural_network import CNNClassifier
from tests._counting import CountingModel

HIDE = 0.5


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One torch thread while these tests run, then as it was.

    The small networks here run 10-15x faster on one thread than on several
    that wait for each other on a busy machine.
    """
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def cnn_digits():
    """16x16 RGB digits and a small CNN trained for 3 epochs (81% accuracy)."""
    X, y = load_digit_images(size=16, as_rgb=True, return_X_y=True)
    X = X.astype(np.float64)
    cnn = CNNClassifier(max_epochs=3, lr=0.01, module__n_filters=8, random_state=0).fit(
        X[:300], y[:300]
    )
    return X, cnn


def grid(rows, cols):
    """A segmentation callable: a rows x cols grid on 16x16 images."""
    r = np.arange(16) * rows // 16
    c = np.arange(16) * cols // 16
    labels = r[:, None] * cols + c[None, :]
    return lambda image: labels


def explainer(model, segmentation, **params):
    return KernelShapExplainer(
        FrozenEstimator(model),
        segmentation=segmentation,
        hide_color=params.pop("hide_color", HIDE),
        **params,
    )


def over_seeds(fitted, images, seeds):
    """Values and standard errors ``(seeds, images, M)`` for each seed."""
    values, stderr = [], []
    for seed in seeds:
        fitted.set_params(random_state=seed)
        _, details = fitted.explain(images, return_details=True)
        values.append(np.array(details.segment_values))
        stderr.append(np.array(details.segment_stderr))
    return np.array(values), np.array(stderr)


def exact_values(fitted, images, n_segments):
    """Exact Shapley values through the explainer: all coalitions."""
    exact = clone(fitted).set_params(n_samples=2**n_segments - 2, random_state=0)
    _, details = exact.fit(images).explain(images, return_details=True)
    assert details.exact.all()
    return np.array(details.segment_values)


# -- standard errors -----------------------------------------------------------


@pytest.mark.parametrize("sampling", ["kernel", "leverage"])
def test_stderr_matches_the_spread_over_seeds(gray_digits, sampling):
    # 16 segments, 200 samples (of 65534 coalitions), 100 seeds: each
    # value's standard deviation over seeds against the mean reported
    # standard error. Measured median ratios 0.99-1.04 (kernel) and
    # 0.98-1.01 (leverage) on these images, 0.92-1.02 for 36 segments at
    # 200 samples and 0.98-1.05 for 12 segments at 1000 (where the finite
    # population correction matters).
    X, clf = gray_digits
    images = X[700:703].reshape(3, -1)
    fitted = explainer(
        clf, grid(4, 4), n_samples=200, sampling=sampling, image_shape=(16, 16)
    ).fit(images)
    values, stderr = over_seeds(fitted, images, range(100))
    ratio = stderr.mean(axis=0) / values.std(axis=0, ddof=1)
    assert 0.8 <= np.median(ratio) <= 1.25, np.median(ratio, axis=1)
    assert (np.median(ratio, axis=1) >= 0.7).all()
    # The estimate is unbiased: its mean over seeds is the exact value,
    # within a few standard errors of that mean.
    exact = exact_values(fitted, images, 16)
    z = (values.mean(axis=0) - exact) / (stderr.mean(axis=0) / 10)
    assert np.abs(z).mean() < 1.5, np.abs(z).mean()


def test_stderr_is_zero_when_exact_and_shrinks_with_samples(gray_digits):
    X, clf = gray_digits
    images = X[700:702].reshape(2, -1)
    fitted = explainer(clf, grid(2, 4), n_samples=254, image_shape=(16, 16))
    _, details = (
        fitted.set_params(random_state=0)
        .fit(images)
        .explain(images, return_details=True)
    )
    assert details.exact.all()
    for stderr in details.segment_stderr:
        np.testing.assert_array_equal(stderr, 0.0)
    means = []
    for n_samples in (40, 120, 240):
        fitted.set_params(n_samples=n_samples)
        _, details = fitted.explain(images, return_details=True)
        assert all(len(s) == 8 for s in details.segment_stderr)
        means.append(np.mean(details.segment_stderr))
    assert means[0] > means[1] > means[2] > 0


def test_paired_kernel_shap_is_exact_for_second_order_games():
    # Why a Taylor control variate of order 1 or 2 cannot help: on a game
    # with only pairwise interactions, a pair's two residuals are equal, so
    # paired Kernel SHAP returns the exact Shapley values from any sample
    # (and the control variate's error is always zero).
    rng = np.random.default_rng(0)
    m = 10
    linear = rng.normal(size=m)
    pairwise = np.triu(rng.normal(size=(m, m)), 1)
    masks, weights, exact = sample_coalitions(m, 60, rng)
    assert not exact

    def game(z):
        z = z.astype(float)
        return 0.2 + z @ linear + np.einsum("ij,jk,ik->i", z, pairwise, z)

    phi = linear + 0.5 * (pairwise.sum(axis=0) + pairwise.sum(axis=1))
    ends = game(np.array([np.zeros(m, bool), np.ones(m, bool)]))
    got = solve_shapley(masks, weights, game(masks), *ends)
    np.testing.assert_allclose(got, phi, atol=1e-10)


# -- the sampling design in rounds ----------------------------------------------


def test_a_design_grown_in_rounds_is_a_fresh_design_at_its_size():
    # n_samples="auto" grows one design: its sample at each budget must be
    # the sample a design drawn afresh at that budget gives (same seed), and
    # no coalition is evaluated twice.
    m = 14
    seen = []

    def evaluate(masks):
        seen.append(masks.copy())
        return masks.sum(axis=1) / m

    for sampling in ("kernel", "leverage"):
        seen.clear()
        grown = _SampledGame(
            _PairDesign(m, sampling, 400, np.random.default_rng(3)), evaluate
        )
        for budget in (30, 45, 68, 102, 153):
            sample = grown.sample(budget)
            fresh = _Sample.draw(
                _PairDesign(m, sampling, 400, np.random.default_rng(3)), budget
            )
            np.testing.assert_array_equal(sample.pairs, fresh.pairs)
            np.testing.assert_array_equal(sample.weights, fresh.weights)
            np.testing.assert_array_equal(
                sample.values[:, 0], sample.pairs.sum(axis=1) / m
            )
        evaluated = np.concatenate(seen)
        assert len(np.unique(evaluated, axis=0)) == len(evaluated)
        assert grown.n_evaluations == len(evaluated)


def test_each_pair_is_drawn_with_its_inclusion_probability():
    # 8 segments, a design grown 6 -> 10 -> 15 pairs: over 2000 seeds each
    # pair is drawn as often as its weight assumes (a coalition's weight is
    # its kernel weight over that probability), whatever its size.
    m, n_seeds = 8, 2000
    counts = {}
    for seed in range(n_seeds):
        game = _SampledGame(
            _PairDesign(m, "kernel", 15, np.random.default_rng(seed)),
            lambda masks: np.zeros(len(masks)),
        )
        for budget in (6, 10, 15):
            sample = game.sample(budget)
        for pair in sample.pairs:
            counts[pair.tobytes()] = counts.get(pair.tobytes(), 0) + 1
    _, expected, full = _PairDesign(m, "kernel", 15, np.random.default_rng(0)).plan(15)
    assert not full.any()
    stratum = {
        key: min(np.frombuffer(key, bool).sum(), m - np.frombuffer(key, bool).sum())
        for key in counts
    }
    for size in range(1, m // 2 + 1):
        n_pairs = comb(m, size) // (2 if 2 * size == m else 1)
        drawn = np.array([c for key, c in counts.items() if stratum[key] == size])
        assert len(drawn) == n_pairs  # every pair of the size gets drawn
        probability = expected[size - 1] / n_pairs
        # Binomial noise of 2000 draws: 4.5 standard deviations.
        spread = 4.5 * np.sqrt(probability * (1 - probability) / n_seeds)
        assert np.abs(drawn / n_seeds - probability).max() <= spread


# -- n_samples="auto" -------------------------------------------------------------


def test_auto_stops_when_settled_and_is_accurate(gray_digits):
    X, clf = gray_digits
    images = X[700:704].reshape(4, -1)
    fitted = explainer(
        clf, grid(4, 4), n_samples="auto", max_samples=2000, image_shape=(16, 16)
    ).fit(images)
    exact = exact_values(fitted, images, 16)
    errors, z, used = [], [], []
    for seed in range(5):
        fitted.set_params(random_state=seed)
        _, details = fitted.explain(images, return_details=True)
        for i in range(4):
            phi, stderr = details.segment_values[i], details.segment_stderr[i]
            n = details.n_evaluations[i]
            # Stopped because settled, or at max_samples (+ the two ends).
            assert is_settled(phi, stderr) or n == 2002
            assert n <= 2002 and n % 2 == 0
            errors.append(np.abs(phi - exact[i]).max() / np.ptp(exact[i]))
            z.append((phi - exact[i]) / stderr)
            used.append(n)
    # Measured on 8 images x 10 seeds: 130-434 evaluations (mean 211), the
    # largest error 7% of the values' range on average, errors 1.16 of their
    # standard errors (root mean square; 1.08 with leverage sampling).
    assert len(set(used)) > 1  # each image uses what it needs
    assert np.mean(errors) < 0.1, np.mean(errors)
    assert np.sqrt(np.mean(np.square(z))) < 1.3


def test_auto_hits_max_samples_when_not_settled(gray_digits):
    X, clf = gray_digits
    images = X[700:702].reshape(2, -1)
    fitted = explainer(
        clf, grid(4, 6), n_samples="auto", max_samples=100, image_shape=(16, 16)
    ).set_params(random_state=0)
    _, details = fitted.fit(images).explain(images, return_details=True)
    assert details.n_evaluations.tolist() == [102, 102]
    # Exact as soon as every coalition fits: 6 segments, 62 coalitions.
    fitted.set_params(segmentation=grid(2, 3), max_samples=2000)
    _, details = fitted.fit(images).explain(images, return_details=True)
    assert details.exact.all() and details.n_evaluations.tolist() == [64, 64]


def test_auto_is_deterministic_and_cached(gray_digits, tmp_path):
    X, clf = gray_digits
    images = X[700:702].reshape(2, -1)
    model = CountingModel(clf)
    fitted = explainer(
        model,
        grid(4, 4),
        n_samples="auto",
        memory=str(tmp_path),
        random_state=0,
        image_shape=(16, 16),
    ).fit(images)
    CountingModel.calls.clear()
    first = fitted.explain(images)
    n_calls = len(CountingModel.calls)
    assert n_calls > 2  # rounds (and the target's prediction)
    np.testing.assert_array_equal(fitted.explain(images), first)
    # Only the prediction of the targets is new: every round was cached.
    assert CountingModel.calls[n_calls:] == [2]
    other = clone(fitted).set_params(random_state=1, memory=None).fit(images)
    assert not np.allclose(other.explain(images), first)


# -- the control variate --------------------------------------------------------------


def exact_shapley(values, m):
    """Shapley values of a game given on all 2**m coalitions (bit codes)."""
    codes = np.arange(2**m)
    bits = (codes[:, None] >> np.arange(m)) & 1
    weight = np.array(
        [factorial(k) * factorial(m - k - 1) / factorial(m) for k in range(m)] + [0]
    )[bits.sum(axis=1)]
    phi = np.zeros(m)
    for i in range(m):
        without = codes[bits[:, i] == 0]
        phi[i] = weight[without] @ (values[without | (1 << i)] - values[without])
    return phi


@pytest.mark.parametrize("m", [5, 20])
def test_sigmoid_game_shapley_values(m):
    rng = np.random.default_rng(m)
    game = SigmoidGame(1.5, rng.normal(size=m))
    phi, variance = game.shapley_values(np.random.default_rng(0))
    assert phi.sum() == pytest.approx(game.full_value - game.base_value, abs=1e-12)
    if m == 5:
        codes = np.arange(2**m)
        bits = ((codes[:, None] >> np.arange(m)) & 1).astype(bool)
        np.testing.assert_allclose(phi, exact_shapley(game.values(bits), m), atol=1e-12)
        np.testing.assert_array_equal(variance, 0.0)
    else:
        # Permutations beyond 16 players: within 4 of their standard errors
        # of a 20-fold larger estimate.
        import sklearn_xai.attribution._control_variate as module

        reference = np.mean(
            [game.shapley_values(np.random.default_rng(s))[0] for s in range(1, 21)],
            axis=0,
        )
        assert (variance > 0).all()
        assert np.abs(phi - reference).max() <= 4 * np.sqrt(variance.max() * 1.05)
        assert module.MAX_ENUMERATED == 16


def test_control_variate_is_unbiased_and_reduces_the_error(cnn_digits):
    # 12 grid segments of a small CNN: exact values from all 4094
    # coalitions; 128 samples over 20 seeds with and without the control
    # variate. Measured mean squared error ratio (with / without) 0.73-0.83
    # at 128 and 256 samples over 12 images, two CNNs and both samplings;
    # here 4 images.
    X, cnn = cnn_digits
    images = X[700:704]
    fitted = explainer(cnn, grid(3, 4), n_samples=128, hide_color=0.0).fit(images)
    assert fitted.control_variate_
    exact = exact_values(fitted, images, 12)
    with_cv, stderr = over_seeds(fitted, images, range(20))
    fitted.set_params(control_variate=False).fit(images)
    without, _ = over_seeds(fitted, images, range(20))
    mse_cv = np.mean((with_cv - exact) ** 2)
    mse = np.mean((without - exact) ** 2)
    assert mse_cv < 0.95 * mse, (mse_cv, mse)
    # Unbiased: the mean error over seeds is small against its standard
    # error (one seed's error over sqrt(20)).
    z = (with_cv.mean(axis=0) - exact) / (stderr.mean(axis=0) / np.sqrt(20))
    assert np.abs(z).mean() < 1.5, np.abs(z).mean()
    # Efficiency still holds exactly.
    _, details = (
        fitted.set_params(control_variate=True)
        .fit(images)
        .explain(images, return_details=True)
    )
    for i in range(4):
        assert details.segment_values[i].sum() == pytest.approx(
            details.full_value[i] - details.base_value[i], abs=1e-10
        )


def test_control_variate_gradients_only_where_needed(cnn_digits, monkeypatch):
    # Images whose coalitions are all evaluated need no control variate:
    # their batches make no backward pass. The others' gradients are those
    # of margin_gradients over all images (computed up front for parallel
    # workers), so the results are the same either way, bit for bit.
    import sklearn_xai.attribution._kernel_shap as module

    X, cnn = cnn_digits
    calls = []
    original = module.margin_gradients

    def counting(estimator, images, *args, **kwargs):
        calls.append(len(images))
        return original(estimator, images, *args, **kwargs)

    monkeypatch.setattr(module, "margin_gradients", counting)
    exact = explainer(cnn, grid(2, 2), n_samples=100, random_state=0).fit(X[:4])
    assert exact.control_variate_
    assert exact.explain(X[:3], return_details=True)[1].exact.all()
    assert calls == []
    sampled = explainer(cnn, grid(3, 4), n_samples=60, batch_size=2, random_state=0)
    maps, details = sampled.fit(X[:4]).explain(X[:3], return_details=True)
    assert calls == [2, 1]
    # What parallel workers get: every gradient computed before the images
    # are explained (here, without workers, so that nothing else differs).
    monkeypatch.setattr(module, "effective_n_jobs", lambda n_jobs: 2)
    maps_up_front, details_up_front = sampled.explain(X[:3], return_details=True)
    assert calls == [2, 1, 2, 1]
    np.testing.assert_array_equal(maps, maps_up_front)
    for key in ("segment_values", "segment_stderr"):
        np.testing.assert_array_equal(details[key], details_up_front[key])


@pytest.mark.parametrize("hide_color", [None, 0.5])
def test_control_variate_slopes_without_the_hidden_images(cnn_digits, hide_color):
    # A bare CNNClassifier converts each pixel on its own, so the slopes are
    # taken from the image's and the fill's network inputs, without building
    # one hidden image per superpixel: the same numbers as through those
    # images (a one-step pipeline, whose input is not known to be pixelwise),
    # bit for bit.
    from sklearn.pipeline import Pipeline

    from sklearn_xai.attribution._control_variate import (
        _pixelwise_input,
        margin_gradients,
        sigmoid_game,
    )
    from sklearn_xai.attribution._perturbation import hide_image

    X, cnn = cnn_digits
    pipeline = FrozenEstimator(Pipeline([("cnn", cnn)]))
    assert _pixelwise_input(FrozenEstimator(cnn)) and _pixelwise_input(cnn)
    assert not _pixelwise_input(pipeline)
    segments = grid(4, 5)(None)
    for image in X[700:703]:
        fudged = hide_image(image, segments, hide_color)
        margin, gradient = margin_gradients(
            cnn, image[np.newaxis], [3], ndim=4, batch_size=1
        )
        games = [
            sigmoid_game(model, image, fudged, segments, margin[0], gradient[0], ndim=4)
            for model in (cnn, pipeline)
        ]
        assert np.count_nonzero(games[0].slopes) >= 10  # of 20
        np.testing.assert_array_equal(games[0].slopes, games[1].slopes)


def test_control_variate_leaves_the_model_untouched(cnn_digits):
    torch = pytest.importorskip("torch")
    X, cnn = cnn_digits
    network = cnn.module_
    before = {k: v.clone() for k, v in network.state_dict().items()}
    grads = [None if p.grad is None else p.grad.clone() for p in network.parameters()]
    network.train()
    try:
        fitted = KernelShapExplainer(
            FrozenEstimator(cnn), n_samples=40, random_state=0
        ).fit(X[:4])
        fitted.explain(X[:2])
        assert all(module.training for module in network.modules())
        for key, value in network.state_dict().items():
            assert torch.equal(value, before[key]), key
        for p, grad in zip(network.parameters(), grads, strict=True):
            assert (p.grad is None) if grad is None else torch.equal(p.grad, grad)
        for module in network.modules():
            assert not module._forward_hooks and not module._backward_hooks
            assert not module._forward_pre_hooks
    finally:
        network.eval()


def test_control_variate_options(gray_digits, cnn_digits):
    X, clf = gray_digits
    images = X[700:701].reshape(1, -1)
    params = {"n_samples": 60, "image_shape": (16, 16)}
    auto = explainer(clf, grid(4, 4), **params).fit(images)
    assert auto.control_variate_ is False
    with pytest.raises(ValueError, match="control_variate=True needs the gradients"):
        explainer(clf, grid(4, 4), control_variate=True, **params).fit(images)
    X_rgb, cnn = cnn_digits
    off = explainer(cnn, grid(3, 4), n_samples=60, control_variate=False)
    on = clone(off).set_params(control_variate=True)
    assert off.fit(X_rgb[:2]).control_variate_ is False
    assert on.fit(X_rgb[:2]).control_variate_ is True
    # Same coalitions, different estimates.
    on.set_params(random_state=0)
    off.set_params(random_state=0)
    assert not np.allclose(on.explain(X_rgb[:2]), off.explain(X_rgb[:2]))


@pytest.mark.slow
@pytest.mark.parametrize("sampling", ["kernel", "leverage"])
def test_control_variate_error_per_model_call(cnn_digits, sampling):
    # The measurement behind control_variate="auto": 12 images of 12 grid
    # segments, 20 seeds, mean squared error against the exact values at
    # 64, 128 and 256 samples, with and without the control variate, per
    # model call (the control variate costs one forward and one backward
    # pass per image, counted as 3 calls).
    X, cnn = cnn_digits
    images = X[700:712]
    fitted = explainer(cnn, grid(3, 4), hide_color=0.0, sampling=sampling)
    exact = exact_values(fitted.fit(images), images, 12)
    ratios = []
    for n_samples in (64, 128, 256):
        mse = {}
        for control_variate in (False, True):
            fitted.set_params(n_samples=n_samples, control_variate=control_variate)
            values, _ = over_seeds(fitted.fit(images), images, range(20))
            calls = n_samples + 2 + 3 * control_variate
            mse[control_variate] = np.mean((values - exact) ** 2) * calls
        ratios.append(mse[True] / mse[False])
    print(sampling, np.round(ratios, 3))
    assert np.mean(ratios) < 0.95, ratios


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_samples": "sometimes"}, "n_samples"),
        ({"max_samples": 1}, "max_samples"),
        ({"max_samples": 10.5}, "max_samples"),
        ({"control_variate": "yes"}, "control_variate"),
    ],
    ids=["n-samples", "max-samples-small", "max-samples-float", "control-variate"],
)
def test_bad_parameters(gray_digits, params, match):
    X, clf = gray_digits
    with pytest.raises(ValueError, match=match):
        explainer(clf, grid(4, 4), image_shape=(16, 16), **params).fit(
            X[:2].reshape(2, -1)
        )
