"""single_threaded_blas: one BLAS thread inside, the user's setting after."""

from joblib import parallel_config
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_xai.utils._threads import single_threaded_blas


def _blas_threads():
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


def test_nested_blocks():
    with threadpool_limits(limits=2, user_api="blas"):
        with single_threaded_blas():
            with single_threaded_blas():
                assert _blas_threads() == {1}
            assert _blas_threads() == {1}
        assert _blas_threads() == {2}


def test_threads_explaining_at_once_restore_the_users_setting():
    # LIME over 20 images with two threads (joblib's threading backend): the
    # blocks overlap; afterwards BLAS has the user's thread count again (each
    # block restoring what it saw on entry left 1 for the rest of the
    # process).
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression

    from sklearn_xai.attribution import LimeExplainer
    from sklearn_xai.datasets import load_digit_images

    X, y = load_digit_images(return_X_y=True)
    X = X.reshape(len(X), -1)
    clf = FrozenEstimator(LogisticRegression(max_iter=300).fit(X[:500], y[:500]))
    explainer = LimeExplainer(
        clf,
        segmentation="grid",
        image_shape=(8, 8),
        n_samples=100,
        n_jobs=2,
        random_state=0,
    ).fit(X[:5])
    before = _blas_threads()
    for _ in range(3):
        with parallel_config(backend="threading"):
            explainer.explain(X[:20])
        assert _blas_threads() == before
