"""OcclusionExplainer: agreement with captum's Occlusion, any classifier, errors."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from captum.attr import Occlusion
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from sklearn_xai.attribution import OcclusionExplainer
from sklearn_xai.attribution._occlusion import baseline_image
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.metrics import DegenerateExplanationWarning
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.preprocessing import ImageNormalizer
from tests._counting import BatchRecorder, count_calls

SIZE = 16


@pytest.fixture(scope="module")
def data():
    X, y = load_digit_images(size=SIZE, as_rgb=True, return_X_y=True)
    return X[:300].astype(np.float32), y[:300]


@pytest.fixture(scope="module")
def cnn(data):
    X, y = data
    return CNNClassifier(
        max_epochs=2, lr=0.01, module__n_filters=8, random_state=0
    ).fit(X, y)


@pytest.fixture(scope="module")
def forest(data):
    X, y = data
    return RandomForestClassifier(n_estimators=10, random_state=0).fit(
        X.reshape(len(X), -1), y
    )


def captum_occlusion(forward, images, targets, window, stride, baseline):
    """captum's Occlusion on channels-last images, one map per image."""
    x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    channels = x.shape[1]
    if isinstance(baseline, np.ndarray):
        baseline = torch.from_numpy(baseline.transpose(2, 0, 1)[np.newaxis]).float()
    with torch.no_grad():
        attributions = Occlusion(forward).attribute(
            x,
            target=torch.as_tensor(targets),
            sliding_window_shapes=(channels, *window),
            strides=(channels, *stride),
            baselines=baseline,
            perturbations_per_eval=16,
        )
    attributions = attributions.numpy()
    # The window spans every channel, so all channels carry the same map.
    np.testing.assert_array_equal(attributions, attributions[:, :1].repeat(3, 1))
    return attributions[:, 0]


@pytest.mark.parametrize(
    "window, stride, baseline",
    [
        ((4, 4), (4, 4), 0.0),
        ((5, 5), (3, 3), 0.0),
        ((3, 6), (2, 4), 0.5),
        ((4, 4), (2, 2), "mean"),
    ],
    ids=["tiling", "uncovered-border", "non-zero-baseline", "mean-baseline"],
)
def test_equals_captum_occlusion_on_a_cnn(cnn, data, window, stride, baseline):
    X, _ = data
    images = X[:4]
    explainer = OcclusionExplainer(
        FrozenEstimator(cnn), window=window, stride=stride, baseline=baseline
    ).fit(X)
    ours, details = explainer.explain(images, return_details=True)
    targets = np.searchsorted(cnn.classes_, details.targets)

    module = cnn.module_.eval()

    def forward(x):
        return torch.softmax(module(x), dim=1)

    theirs = captum_occlusion(
        forward, images, targets, window, stride, explainer.baseline_
    )
    assert ours.dtype == np.float32 and ours.shape == (4, SIZE, SIZE)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    assert np.abs(ours).max() > 1e-3  # not trivially zero
    if baseline == "mean":
        np.testing.assert_allclose(explainer.baseline_, X.mean(axis=0), atol=1e-6)


def test_border_pixels_are_covered_by_cut_windows_as_in_captum(forest, data):
    # (16 - 5) % 3 != 0: captum adds a last window reaching past the border.
    X, _ = data
    explainer = OcclusionExplainer(
        FrozenEstimator(forest), window=5, stride=3, image_shape=(SIZE, SIZE, 3)
    ).fit(X.reshape(len(X), -1))
    ours, details = explainer.explain(X[:3].reshape(3, -1), return_details=True)
    assert details.n_windows == 5 * 5  # ceil(11 / 3) + 1 per axis
    targets = np.searchsorted(forest.classes_, details.targets)

    def forward(x):
        flat = x.permute(0, 2, 3, 1).reshape(len(x), -1).numpy()
        return torch.from_numpy(forest.predict_proba(flat))

    theirs = captum_occlusion(forward, X[:3], targets, (5, 5), (3, 3), 0.0)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)


def test_equals_a_naive_loop_over_windows(forest, data):
    X, _ = data
    image = X[5]
    explainer = OcclusionExplainer(
        FrozenEstimator(forest),
        window=(6, 4),
        stride=(5, 3),
        baseline=0.25,
        image_shape=(SIZE, SIZE, 3),
    ).fit(X.reshape(len(X), -1))
    ours = explainer.explain(image.reshape(1, -1), target=forest.classes_[1])[0]

    def p(img):
        return forest.predict_proba(img.reshape(1, -1))[0, 1]

    total, count = np.zeros((SIZE, SIZE)), np.zeros((SIZE, SIZE))
    for r in range(0, SIZE - 6 + 5, 5):  # starts 0, 5, 10 (the last one cut)
        for c in range(0, SIZE - 4 + 3, 3):
            occluded = image.copy()
            occluded[r : r + 6, c : c + 4] = 0.25
            total[r : r + 6, c : c + 4] += p(image) - p(occluded)
            count[r : r + 6, c : c + 4] += 1
    assert count.min() >= 1
    np.testing.assert_allclose(ours, total / count, atol=1e-6)


def test_explains_a_forest_on_flattened_images(data):
    X, y = data
    flat = X.reshape(len(X), -1)
    explainer = OcclusionExplainer(
        RandomForestClassifier(n_estimators=10, random_state=0),
        window=4,
        stride=2,
        image_shape=(SIZE, SIZE, 3),
    ).fit(flat, y)
    attributions = explainer.explain(flat[:2])
    assert attributions.shape == (2, SIZE, SIZE)
    assert np.isfinite(attributions).all()
    assert explainer.transform(flat[:2]).shape == (2, SIZE * SIZE)


def test_explains_a_pipeline_ending_in_a_cnn(data):
    X, y = data
    pipe = Pipeline(
        [
            ("normalize", ImageNormalizer()),
            ("cnn", CNNClassifier(max_epochs=1, module__n_filters=8, random_state=0)),
        ]
    ).fit(X[:100], y[:100])
    explainer = OcclusionExplainer(FrozenEstimator(pipe), window=4, stride=4).fit(X)
    attributions, details = explainer.explain(X[:2], return_details=True)
    assert attributions.shape == (2, SIZE, SIZE)
    assert np.isfinite(attributions).all()
    np.testing.assert_allclose(
        details.base_proba, pipe.predict_proba(X[:2]).max(axis=1), rtol=1e-6
    )


@pytest.mark.parametrize("baseline", [0.0, 0.7, "mean", "blur"])
def test_baseline_options(cnn, data, baseline):
    X, _ = data
    explainer = OcclusionExplainer(
        FrozenEstimator(cnn), window=4, stride=4, baseline=baseline
    ).fit(X)
    attributions = explainer.explain(X[:2])
    assert np.isfinite(attributions).all()
    if baseline == "mean":
        assert explainer.baseline_.shape == (SIZE, SIZE, 3)
    else:
        assert explainer.baseline_ == baseline


def _recorder(seen):
    class Recorder(DummyClassifier):
        def predict_proba(self, X):
            seen.append(np.asarray(X))
            return super().predict_proba(X)

    return Recorder


@pytest.mark.filterwarnings("ignore::sklearn_xai.metrics.DegenerateExplanationWarning")
def test_uint8_images_keep_their_dtype_under_an_integer_baseline(data):
    X, y = data
    images = np.round(X * 255).astype(np.uint8)
    seen = []
    clf = _recorder(seen)().fit(images, y)
    explainer = OcclusionExplainer(
        FrozenEstimator(clf), window=8, stride=8, baseline=255
    ).fit(images)
    seen.clear()
    assert np.isfinite(explainer.explain(images[:1])).all()
    assert {batch.dtype for batch in seen} == {np.dtype(np.uint8)}
    assert (seen[-1] == 255).any()


@pytest.mark.filterwarnings("ignore::sklearn_xai.metrics.DegenerateExplanationWarning")
@pytest.mark.parametrize("baseline", [127.6, "mean"])
def test_fractional_baselines_on_uint8_images_are_never_rounded(data, baseline):
    X, y = data
    images = np.round(X * 255).astype(np.uint8)
    seen = []
    clf = _recorder(seen)().fit(images, y)
    explainer = OcclusionExplainer(
        FrozenEstimator(clf), window=8, stride=8, baseline=baseline
    ).fit(images)
    seen.clear()
    explainer.explain(images[:1])
    occluded = seen[-1]  # the occluded images: built in floating point
    assert occluded.dtype.kind == "f"
    fill = np.broadcast_to(explainer.baseline_, images.shape[1:])
    np.testing.assert_array_equal(occluded[0][:8, :8], fill[:8, :8])
    assert not np.array_equal(fill, np.round(fill))


@pytest.mark.parametrize(
    "baseline, kind, match",
    [
        (-1.0, "uint8", r"baseline=-1.0 is outside the images' range \[0, 255\]"),
        (300.4, "uint8", r"baseline=300.4 is outside the images' range \[0, 255\]"),
        (1e6, "uint8", r"baseline=1000000.0 is outside"),
        (-0.1, "unit", r"baseline=-0.1 is outside the images' range \[0, 1\]"),
        (2.0, "unit", r"baseline=2.0 is outside the images' range \[0, 1\]"),
        (float("nan"), "other", "baseline must be a finite number"),
    ],
    ids=["uint8-negative", "uint8-above", "uint8-overflow", "unit-negative",
         "unit-above", "nan"],
)  # fmt: skip
def test_baselines_outside_the_images_range_are_refused(data, baseline, kind, match):
    X, y = data
    images = {
        "uint8": np.round(X * 255).astype(np.uint8),
        "unit": X,
        "other": X * 4 - 2,
    }[kind]
    clf = DummyClassifier().fit(images.reshape(len(images), -1), y)
    with pytest.raises(ValueError, match=match):
        OcclusionExplainer(FrozenEstimator(clf), baseline=baseline).fit(images)
    # Standardized images have no known range: any finite baseline goes.
    if kind == "other" and np.isfinite(baseline):
        OcclusionExplainer(FrozenEstimator(clf), baseline=baseline).fit(images)


@pytest.mark.parametrize(
    "size, window, stride",
    [
        ((8, 8), (2, 2), (1, 1)),
        ((16, 16), (2, 2), (1, 1)),
        ((32, 32), (4, 4), (2, 2)),
        ((64, 48), (6, 6), (3, 3)),
        ((224, 224), (28, 28), (14, 14)),
        ((3, 3), (1, 1), (1, 1)),
        ((1, 5), (1, 1), (1, 1)),
    ],
    ids=["digits", "16", "32", "64x48", "224", "3x3", "one-row"],
)
@pytest.mark.filterwarnings("ignore::sklearn_xai.metrics.DegenerateExplanationWarning")
def test_default_window_follows_the_image_size(size, window, stride):
    images = np.random.default_rng(0).random((4, *size, 1))
    flat = images.reshape(4, -1)
    clf = LogisticRegression().fit(flat, [0, 1, 0, 1])
    explainer = OcclusionExplainer(FrozenEstimator(clf), image_shape=(*size, 1))
    explainer.fit(flat)
    assert explainer.window_ == window and explainer.stride_ == stride
    # An explicit window gets half of itself as the default stride.
    explainer.set_params(window=(1, size[1])).fit(flat)
    assert explainer.window_ == (1, size[1])
    assert explainer.stride_ == (1, max(1, size[1] // 2))


def test_default_maps_of_8x8_digits_are_not_constant():
    # The former default window (8) covered the whole 8x8 image: one value.
    X, y = load_digit_images(return_X_y=True)
    flat = X.reshape(len(X), -1)
    clf = LogisticRegression(max_iter=1000).fit(flat[:500], y[:500])
    explainer = OcclusionExplainer(FrozenEstimator(clf), image_shape=(8, 8)).fit(flat)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateExplanationWarning)
        maps = explainer.explain(flat[500:510])
    assert [len(np.unique(m)) > 20 for m in maps] == [True] * 10


def test_a_window_covering_the_image_warns_at_fit_and_explain(data):
    X, y = data
    clf = LogisticRegression(max_iter=200).fit(X.reshape(len(X), -1), y)
    flat = X.reshape(len(X), -1)
    explainer = OcclusionExplainer(
        FrozenEstimator(clf), window=SIZE, image_shape=(SIZE, SIZE, 3)
    )
    with pytest.warns(
        DegenerateExplanationWarning,
        match=r"window=16 covers the whole 16x16 image.*window='auto' \(2 here\)",
    ):
        explainer.fit(flat)
    with pytest.warns(DegenerateExplanationWarning, match="2 of 2 attribution maps"):
        maps = explainer.explain(flat[:2])
    assert all(len(np.unique(m)) == 1 for m in maps)
    # A window spanning one axis only still tells the other axis's pixels apart.
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateExplanationWarning)
        explainer.set_params(window=(SIZE, 4), stride=4).fit(flat).explain(flat[:2])


def test_batch_size_and_n_jobs_do_not_change_results(forest, data):
    X, _ = data
    flat = X.reshape(len(X), -1)
    params = dict(window=4, stride=2, image_shape=(SIZE, SIZE, 3))
    reference = (
        OcclusionExplainer(FrozenEstimator(forest), batch_size=64, **params)
        .fit(flat)
        .explain(flat[:3])
    )
    for extra in [{"batch_size": 1}, {"batch_size": 7}, {"n_jobs": 2}]:
        explainer = OcclusionExplainer(FrozenEstimator(forest), **params, **extra)
        np.testing.assert_array_equal(explainer.fit(flat).explain(flat[:3]), reference)


@pytest.mark.parametrize("baseline", [0.0, 0.5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_validated_batches_give_predict_proba_bit_for_bit(
    cnn, data, dtype, baseline, monkeypatch
):
    # A bare CNNClassifier gets the occluded copies of a validated image
    # through its private _validated_proba, which skips predict_proba's
    # validation (float copies of uint8 images, a fractional fill, still
    # get its scale check): the maps are those a one-step pipeline around
    # it (which calls predict_proba, every check included) gives, bit for
    # bit.
    from sklearn_xai.neural_network import _cnn

    X, _ = data
    images = (X * 255).round().astype(np.uint8) if dtype == np.uint8 else X
    images = images.astype(dtype)
    validations = count_calls(monkeypatch, _cnn, "validate_images")
    if dtype == np.uint8 and baseline % 1:
        # Float copies on the 0-255 scale: a CNN of 0-255 images takes them
        # (one of [0, 1] images, converting uint8 ones, would refuse them).
        cnn = clone(cnn).fit(images[:100], data[1][:100])
    params = dict(window=4, stride=2, batch_size=7, baseline=baseline)
    fast = OcclusionExplainer(FrozenEstimator(cnn), **params).fit(images)
    checked = OcclusionExplainer(
        FrozenEstimator(Pipeline([("cnn", cnn)])), **params
    ).fit(images)
    validations.clear()
    maps, details = fast.explain(images[:2], [1, 2], return_details=True)
    assert validations == []
    reference, reference_details = checked.explain(
        images[:2], [1, 2], return_details=True
    )
    assert len(validations) == 2 * (1 + 7)  # the image, then 49 windows by 7
    np.testing.assert_array_equal(maps, reference)
    np.testing.assert_array_equal(details.base_proba, reference_details.base_proba)


def test_validated_proba_keeps_the_scale_check(cnn, data):
    # Floats on another scale than the model's: the private path refuses
    # them with predict_proba's message when asked to check the scale (the
    # image itself, once per explanation); uint8 images are converted.
    X, _ = data
    with cnn._validated_proba() as proba:
        np.testing.assert_array_equal(proba(X[:3]), cnn.predict_proba(X[:3]))
        uint8 = (X[:3] * 255).round().astype(np.uint8)
        np.testing.assert_array_equal(proba(uint8), cnn.predict_proba(uint8))
        with pytest.raises(ValueError, match="look like 0-255 intensities"):
            cnn.predict_proba(X[:3] * 255)
        with pytest.raises(ValueError, match="look like 0-255 intensities"):
            proba(X[:3] * 255, check_scale=True)


def test_repeated_calls_give_identical_results(cnn, data):
    X, _ = data
    explainer = OcclusionExplainer(FrozenEstimator(cnn), window=4, stride=2).fit(X)
    np.testing.assert_array_equal(explainer.explain(X[:2]), explainer.explain(X[:2]))


def test_explains_a_given_target(cnn, data):
    X, _ = data
    explainer = OcclusionExplainer(FrozenEstimator(cnn), window=4, stride=4).fit(X)
    a, details = explainer.explain(X[:2], target=[3, 7], return_details=True)
    np.testing.assert_array_equal(details.targets, [3, 7])
    b = explainer.explain(X[:2], target=3)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[1], b[1])


def test_clone_params_and_pickle(cnn, data):
    X, _ = data
    explainer = OcclusionExplainer(
        LogisticRegression(C=0.5), window=(4, 2), stride=2, baseline="mean"
    )
    params = explainer.get_params(deep=True)
    assert params["estimator__C"] == 0.5 and params["window"] == (4, 2)
    cloned = clone(explainer).set_params(estimator__C=2.0)
    assert cloned.estimator.C == 2.0 and explainer.estimator.C == 0.5

    fitted = OcclusionExplainer(
        FrozenEstimator(cnn), window=4, stride=4, baseline="mean"
    ).fit(X)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.baseline_, fitted.baseline_)
    np.testing.assert_array_equal(restored.explain(X[:2]), fitted.explain(X[:2]))


def test_bad_input_gets_clear_errors(cnn, data):
    X, _ = data
    frozen = FrozenEstimator(cnn)
    with pytest.raises(ValueError, match="window=20 is larger than the images"):
        OcclusionExplainer(frozen, window=20).fit(X)
    with pytest.raises(ValueError, match=r"window=\(4, 17\) is larger"):
        OcclusionExplainer(frozen, window=(4, 17)).fit(X)
    with pytest.raises(ValueError, match="stride=5 must not exceed window=4"):
        OcclusionExplainer(frozen, window=4, stride=5).fit(X)
    with pytest.raises(ValueError, match="stride must be a positive int or a pair"):
        OcclusionExplainer(frozen, window=4, stride=(0, 2)).fit(X)
    with pytest.raises(ValueError, match="window must be a positive int or a pair"):
        OcclusionExplainer(frozen, window=(4, 4, 4)).fit(X)
    with pytest.raises(ValueError, match="'stride' parameter"):
        OcclusionExplainer(frozen, stride=0).fit(X)
    with pytest.raises(ValueError, match="'baseline' parameter"):
        OcclusionExplainer(frozen, baseline="median").fit(X)
    with pytest.raises(ValueError, match="'window' parameter"):
        OcclusionExplainer(frozen, window="big").fit(X)
    # A stride beyond the window is fine where the window spans the image.
    OcclusionExplainer(frozen, window=(SIZE, 4), stride=(99, 4)).fit(X)

    explainer = OcclusionExplainer(frozen, window=4, stride=4)
    with pytest.raises(NotFittedError):
        explainer.explain(X[:1])
    explainer.fit(X)
    with pytest.raises(ValueError, match="size 8x8, but OcclusionExplainer was"):
        explainer.explain(np.zeros((1, 8, 8, 3)))
    bad = X[:2].copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        explainer.explain(bad)
    with pytest.raises(ValueError, match=r"labels \[42\] that are not among"):
        explainer.explain(X[:2], target=42)
    with pytest.raises(ValueError, match="requires y to be passed"):
        OcclusionExplainer(LogisticRegression()).fit(X)


@pytest.mark.parametrize(
    "window, stride",
    [((4, 4), (4, 4)), ((5, 5), (3, 3)), ((3, 6), (2, 4)), ("auto", "auto")],
    ids=["tiling", "uncovered-border", "rectangular", "auto"],
)
@pytest.mark.parametrize("baseline", [0.0, 100.5, "mean", "blur"])
@pytest.mark.parametrize("kind", ["uint8", "float32", "gray"])
@pytest.mark.parametrize("batch_size", [1, 7, None])
def test_the_model_gets_each_window_occluded(
    data, window, stride, baseline, kind, batch_size
):
    X = np.round(data[0][:5] * 255)
    X = {"uint8": X.astype(np.uint8), "float32": X, "gray": X[..., :1]}[kind]
    seen = []
    explainer = OcclusionExplainer(
        FrozenEstimator(BatchRecorder(seen, scale=255, offset=0.2).fit(X)),
        window=window,
        stride=stride,
        baseline=baseline,
        batch_size=batch_size,
    ).fit(X)
    seen.clear()
    explainer.explain(X[2:3], target=1)
    image = X[2]
    fill = baseline_image(image, explainer.baseline_)
    # Every window position, as captum places them, hidden by np.where.
    (h, w), (sh, sw) = explainer.window_, explainer.stride_
    tops = np.arange(-(-(SIZE - h) // sh) + 1) * sh
    lefts = np.arange(-(-(SIZE - w) // sw) + 1) * sw
    rows, cols = np.mgrid[:SIZE, :SIZE]
    expected = np.stack(
        [
            np.where(
                ((rows >= top) & (rows < top + h) & (cols >= left) & (cols < left + w))[
                    ..., np.newaxis
                ],
                fill,
                image,
            )
            for top in tops
            for left in lefts
        ]
    )
    got = np.concatenate(seen[1:])  # after the unoccluded image
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
