"""LimeExplainer: agreement with the lime package, determinism, composition."""

import pickle
import tracemalloc

import numpy as np
import pytest
from lime.lime_image import LimeImageExplainer
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sklearn_xai.attribution import LimeExplainer
from sklearn_xai.datasets import load_digit_images, load_sample_photos
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.preprocessing import ImageNormalizer, ImageResizer, SuperpixelSegmenter
from tests._counting import CountingModel


@pytest.fixture(scope="module")
def data():
    X, y = load_digit_images(size=16, as_rgb=True, return_X_y=True)
    return X[:400].astype(np.float64), y[:400]


@pytest.fixture(scope="module")
def cnn(data):
    X, y = data
    return CNNClassifier(
        max_epochs=3, lr=0.01, module__n_filters=8, random_state=0
    ).fit(X, y)


def with_seed(explainer, seed):
    """Make ``explainer`` draw every image's numbers from ``seed``, as lime does.

    lime is given the same seed; how an explainer derives an image's seed
    from ``random_state`` is another test's business.
    """

    def seeds(images):
        return [seed] * (images if isinstance(images, int) else len(images))

    explainer._image_seeds = seeds
    return explainer


def lime_weights(model, image, segments, label, seed, **kwargs):
    """Segment weights from the lime package itself."""
    explainer = LimeImageExplainer(
        random_state=seed, kernel_width=kwargs.pop("kernel_width", 0.25)
    )
    explanation = explainer.explain_instance(
        image,
        model.predict_proba,
        labels=(label,),
        top_labels=None,
        segmentation_fn=lambda _: segments,
        batch_size=50,
        **kwargs,
    )
    weights = np.zeros(segments.max() + 1)
    for feature, weight in explanation.local_exp[label]:
        weights[feature] = weight
    return weights, explanation


@pytest.mark.parametrize(
    "params, lime_params",
    [
        # lime's defaults hide superpixels with their mean colour ...
        ({"hide_color": None}, {}),
        # ... ours with black, as the deletion metrics remove pixels.
        ({}, {"hide_color": 0.0}),
        ({"hide_color": 0.5}, {"hide_color": 0.5}),
        ({"kernel_width": 0.5}, {"kernel_width": 0.5, "hide_color": 0.0}),
        (
            {"feature_selection": "forward_selection", "num_features": 5},
            {"num_features": 5, "hide_color": 0.0},
        ),
    ],
    ids=[
        "lime-defaults",
        "our-defaults",
        "hide-grey",
        "kernel-width",
        "forward-selection",
    ],
)
def test_segment_weights_equal_lime(cnn, data, params, lime_params):
    X, _ = data
    seed = 3
    explainer = LimeExplainer(
        FrozenEstimator(cnn),
        n_samples=300,
        sampling="lime",
        random_state=seed,
        **params,
    ).fit(X)
    with_seed(explainer, seed)
    _, details = explainer.explain(X[:1], return_details=True)
    segments = details.segments[0]
    label = int(np.flatnonzero(cnn.classes_ == details.targets[0])[0])
    reference, explanation = lime_weights(
        cnn, X[0], segments, label, seed, num_samples=300, **lime_params
    )
    ours = details.segment_weights[0]
    scale = np.abs(reference).max()
    assert scale > 0
    assert np.abs(ours - reference).max() <= 1e-4 * scale
    assert details.score[0] == pytest.approx(explanation.score, abs=1e-4)
    assert details.intercept[0] == pytest.approx(explanation.intercept[label], abs=1e-4)


def test_equal_lime_on_a_model_agnostic_forest(data):
    X, y = data
    flat = X.reshape(len(X), -1)
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(flat, y)
    explainer = LimeExplainer(
        FrozenEstimator(forest),
        segmentation="grid",
        n_samples=200,
        sampling="lime",
        random_state=0,
        image_shape=(16, 16, 3),
    ).fit(flat)
    with_seed(explainer, 0)
    attributions, details = explainer.explain(flat[:1], return_details=True)
    assert attributions.shape == (1, 16, 16)
    segments = details.segments[0]
    label = int(details.targets[0])

    class FlatForest:
        def predict_proba(self, images):
            return forest.predict_proba(images.reshape(len(images), -1))

    reference, _ = lime_weights(
        FlatForest(), X[0], segments, label, 0, num_samples=200, hide_color=0.0
    )
    assert (
        np.abs(details.segment_weights[0] - reference).max()
        <= 1e-4 * np.abs(reference).max()
    )
    # Each pixel carries its segment's weight.
    assert np.array_equal(
        attributions[0], details.segment_weights[0][segments].astype(np.float32)
    )


def test_seeded_explainer_repeats_itself_where_lime_does_not(cnn, data):
    X, _ = data
    explainer = LimeExplainer(FrozenEstimator(cnn), n_samples=100, random_state=0)
    explainer.fit(X)
    first = explainer.explain(X[:2])
    assert np.array_equal(first, explainer.explain(X[:2]))
    other = LimeExplainer(FrozenEstimator(cnn), n_samples=100, random_state=1).fit(X)
    assert not np.array_equal(first, other.explain(X[:2]))
    # lime's own explainer draws new samples on a second call.
    segments = SuperpixelSegmenter(method="grid", n_segments=16).fit_transform(X[:1])[0]
    lime = LimeImageExplainer(random_state=0)
    runs = [
        lime.explain_instance(
            X[0],
            cnn.predict_proba,
            labels=(0,),
            top_labels=None,
            num_samples=100,
            segmentation_fn=lambda _: segments,
        ).local_exp[0]
        for _ in range(2)
    ]
    assert runs[0] != runs[1]


def test_n_jobs_and_batch_size_do_not_change_results(cnn, data):
    X, _ = data
    base = LimeExplainer(FrozenEstimator(cnn), n_samples=120, random_state=0).fit(X)
    expected = base.explain(X[:3])
    parallel = clone(base).set_params(n_jobs=2, batch_size=7).fit(X)
    np.testing.assert_allclose(parallel.explain(X[:3]), expected, rtol=0, atol=1e-6)


def test_dask_cluster_gives_identical_results(cnn, data):
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_config

    X, _ = data
    explainer = LimeExplainer(
        FrozenEstimator(cnn), n_samples=80, random_state=0, n_jobs=2
    ).fit(X)
    expected = clone(explainer).set_params(n_jobs=1).fit(X).explain(X[:3])
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        parallel_config(backend="dask"),
    ):
        got = explainer.explain(X[:3])
    assert np.array_equal(got, expected)


def test_memory_caches_model_calls_across_kernel_widths(cnn, data, tmp_path):
    X, _ = data
    model = FrozenEstimator(CountingModel(cnn))
    CountingModel.calls.clear()
    explainer = LimeExplainer(
        model, n_samples=100, random_state=0, memory=str(tmp_path)
    ).fit(X)
    first = explainer.explain(X[:2], target=[0, 1])
    n_first = len(CountingModel.calls)
    assert n_first > 0
    widened = clone(explainer).set_params(kernel_width=0.5).fit(X)
    # fit checks predict_proba on one image: that call only.
    assert CountingModel.calls[n_first:] == [1]
    second = widened.explain(X[:2], target=[0, 1])
    assert len(CountingModel.calls) == n_first + 1  # no new explaining calls
    assert not np.allclose(first, second)
    # The cached run equals an uncached one.
    fresh = clone(widened).set_params(memory=None).fit(X).explain(X[:2], target=[0, 1])
    np.testing.assert_array_equal(second, fresh)


class _CheapModel:
    classes_ = np.array([0, 1])

    def fit(self, X, y=None):
        return self

    def predict_proba(self, X):
        p = X.reshape(len(X), -1).mean(axis=1, keepdims=True)
        return np.hstack([1 - p, p])


@pytest.mark.parametrize("n_samples", [5000])
def test_peak_memory_is_bounded_by_batch_size(n_samples):
    rng = np.random.default_rng(0)
    images = rng.random((1, 128, 128, 3))

    def peak(samples):
        explainer = LimeExplainer(
            FrozenEstimator(_CheapModel()),
            segmentation="grid",
            n_samples=samples,
            batch_size=32,
            random_state=0,
        ).fit(images)
        tracemalloc.start()
        explainer.explain(images)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(500), peak(n_samples)
    assert large <= 1.5 * small, (small, large)


def test_grid_search_picks_a_best_explainer(cnn, data):
    X, y = data

    def stability(explainer, X, y=None):
        # Agreement of the explanation with a second seed: a simple callable
        # scorer (the metrics module brings real ones).
        a = explainer.explain(X)
        b = clone(explainer).set_params(random_state=99).fit(X).explain(X)
        return float(
            np.mean(
                [
                    np.corrcoef(u.ravel(), v.ravel())[0, 1]
                    for u, v in zip(a, b, strict=True)
                ]
            )
        )

    search = GridSearchCV(
        LimeExplainer(FrozenEstimator(cnn), random_state=0),
        {"n_samples": [20, 200], "kernel_width": [0.25, 1.0]},
        scoring=stability,
        cv=2,
    )
    search.fit(X[:6], y[:6])
    assert search.best_params_["n_samples"] == 200
    assert isinstance(search.best_estimator_, LimeExplainer)


def test_pipeline_of_explanations_and_clustering(cnn, data):
    X, _ = data
    pipe = Pipeline(
        [
            (
                "explain",
                LimeExplainer(FrozenEstimator(cnn), n_samples=60, random_state=0),
            ),
            ("cluster", KMeans(3, n_init=2, random_state=0)),
        ]
    )
    labels = pipe.fit_predict(X[:12])
    assert labels.shape == (12,)
    assert pipe.named_steps["explain"].transform(X[:2]).shape == (2, 256)


def test_explains_a_pipeline_ending_in_a_cnn(data):
    X, y = data
    pipe = Pipeline(
        [
            ("resize", ImageResizer(size=12)),
            ("scale", ImageNormalizer()),
            ("cnn", CNNClassifier(max_epochs=1, module__n_filters=4, random_state=0)),
        ]
    ).fit(X, y)
    explainer = LimeExplainer(FrozenEstimator(pipe), n_samples=50, random_state=0)
    attributions = explainer.fit(X).explain(X[:2], target=pipe.classes_[:2])
    assert attributions.shape == (2, 16, 16)
    assert np.isfinite(attributions).all() and np.abs(attributions).max() > 0


def test_fit_clones_an_unfrozen_estimator(data):
    X, y = data
    flat = X.reshape(len(X), -1)
    forest = RandomForestClassifier(n_estimators=5, random_state=0)
    explainer = LimeExplainer(
        forest, segmentation="grid", n_samples=30, image_shape=(16, 16, 3)
    ).fit(flat, y)
    assert explainer.estimator_ is not forest
    assert not hasattr(forest, "classes_")
    with pytest.raises(ValueError, match="FrozenEstimator"):
        clone(explainer).fit(flat)


def test_default_segmentation_gives_useful_segment_counts():
    # lime's quickshift defaults find only 1-8 segments on small photos; the
    # default SLIC segmentation keeps a useful number at every size.
    for size in (32, 64, 224):
        photos = load_sample_photos(size=size).images[:4]
        explainer = LimeExplainer(FrozenEstimator(_CheapModel()), n_samples=10).fit(
            photos
        )
        _, details = explainer.explain(photos, return_details=True)
        counts = details.segments.reshape(len(photos), -1).max(axis=1) + 1
        assert counts.min() >= 15 and counts.max() <= 80, (size, counts)


@pytest.mark.filterwarnings("ignore::sklearn_xai.metrics.DegenerateExplanationWarning")
def test_segmentation_options(cnn, data):
    X, _ = data
    for segmentation in (
        "grid",
        "quickshift",
        "felzenszwalb",
        SuperpixelSegmenter(method="slic", n_segments=10),
        lambda image: (np.arange(16)[:, None] // 8) * 2 + np.arange(16)[None] // 8,
    ):
        explainer = LimeExplainer(
            FrozenEstimator(cnn),
            segmentation=segmentation,
            n_samples=30,
            random_state=0,
        ).fit(X)
        _, details = explainer.explain(X[:1], return_details=True)
        segments = details.segments[0]
        assert segments.min() == 0
        assert set(np.unique(segments)) == set(range(segments.max() + 1))
    with pytest.raises(ValueError, match="labels of that size"):
        LimeExplainer(
            FrozenEstimator(cnn), segmentation=lambda image: np.zeros((3, 3), int)
        ).fit(X).explain(X[:1])


@pytest.mark.parametrize("hide_color", [None, 0.5, "blur"])
def test_hide_color_options_and_details(cnn, data, hide_color):
    X, _ = data
    explainer = LimeExplainer(
        FrozenEstimator(cnn), n_samples=50, hide_color=hide_color, random_state=0
    ).fit(X)
    attributions, details = explainer.explain(X[:2], target=[3, 4], return_details=True)
    assert attributions.dtype == np.float32 and attributions.shape == (2, 16, 16)
    assert details.targets.tolist() == [3, 4]
    assert details.segments.shape == (2, 16, 16)
    assert len(details.segment_weights) == 2
    assert details.score.shape == details.intercept.shape == (2,)


def test_clone_params_and_pickle(cnn, data):
    X, _ = data
    explainer = LimeExplainer(FrozenEstimator(cnn), n_samples=40, random_state=0)
    params = explainer.get_params(deep=True)
    assert "estimator__estimator" in params
    fitted = explainer.fit(X)
    again = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(again.explain(X[:1]), fitted.explain(X[:1]))


def test_input_is_not_modified(cnn, data):
    X, _ = data
    images = X[:2].copy()
    LimeExplainer(FrozenEstimator(cnn), n_samples=30, random_state=0).fit(X).explain(
        images
    )
    assert np.array_equal(images, X[:2])


def test_bad_input_gets_clear_errors(cnn, data):
    X, _ = data
    explainer = LimeExplainer(FrozenEstimator(cnn), n_samples=30, random_state=0)
    with pytest.raises(NotFittedError):
        explainer.explain(X[:1])
    explainer.fit(X)
    with pytest.raises(ValueError, match="size 8x8"):
        explainer.explain(np.zeros((1, 8, 8, 3)))
    with pytest.raises(ValueError, match="NaN"):
        explainer.explain(np.full((1, 16, 16, 3), np.nan))
    with pytest.raises(ValueError, match=r"labels \[42\] that are not among classes_"):
        explainer.explain(X[:2], target=[1, 42])
    with pytest.raises(ValueError, match="one label per image"):
        explainer.explain(X[:2], target=[1, 2, 3])
    with pytest.raises(ValueError, match="n_samples"):
        LimeExplainer(FrozenEstimator(cnn), n_samples=1).fit(X)
    with pytest.raises(ValueError, match="segmentation"):
        LimeExplainer(FrozenEstimator(cnn), segmentation="watershed").fit(X)
