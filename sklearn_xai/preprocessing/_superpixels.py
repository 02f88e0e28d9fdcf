"""Segment images into superpixels."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from skimage.segmentation import felzenszwalb, quickshift, slic
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..utils._compat import Interval, StrOptions
from ._base import _ImageTransformer


def _relabel(labels):
    """Labels renumbered to 0..k-1 (in increasing order of the old ones)."""
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int32)


def _grid(height, width, n_segments):
    """About ``n_segments`` square-ish cells covering ``height x width``."""
    n_rows = int(np.clip(round(np.sqrt(n_segments * height / width)), 1, height))
    n_cols = int(np.clip(round(n_segments / n_rows), 1, width))
    rows = np.arange(height) * n_rows // height
    cols = np.arange(width) * n_cols // width
    return rows[:, np.newaxis] * n_cols + cols[np.newaxis, :]


def _segment(image, method, params, seed):
    """Label map of one ``(H, W, C)`` image."""
    n_channels = image.shape[-1]
    color = n_channels == 3
    # scikit-image reads 2-D images as gray with channel_axis=None.
    plane, channel_axis = (image[..., 0], None) if n_channels == 1 else (image, -1)
    if method == "grid":
        labels = _grid(image.shape[0], image.shape[1], params["n_segments"])
    elif method == "quickshift":
        labels = quickshift(
            image,
            ratio=params["ratio"],
            kernel_size=params["kernel_size"],
            max_dist=params["max_dist"],
            sigma=params["sigma"],
            convert2lab=color,
            rng=seed,
            channel_axis=-1,
        )
    elif method == "slic":
        labels = slic(
            plane,
            n_segments=params["n_segments"],
            compactness=params["compactness"],
            sigma=params["sigma"],
            convert2lab=color,
            start_label=0,
            channel_axis=channel_axis,
        )
    else:
        with warnings.catch_warnings():
            # The channel axis is explicit: 4-channel images are intended.
            warnings.filterwarnings("ignore", "Got image with third dimension")
            labels = felzenszwalb(
                plane,
                scale=params["scale"],
                sigma=params["sigma"],
                min_size=params["min_size"],
                channel_axis=channel_axis,
            )
    return _relabel(labels)


class SuperpixelSegmenter(_ImageTransformer):
    """Segment each image into superpixels; return one int32 label map each.

    Labels are always ``0..k-1`` for an image with ``k`` segments, whatever
    the method, so ``labels.max() + 1`` is the number of segments of an image
    (e.g. ``[m.max() + 1 for m in maps]`` for a batch). Grayscale and colour
    images work with every method. The segmenter keeps no state from
    ``transform``.

    * ``"quickshift"``: :func:`skimage.segmentation.quickshift`, with
      LIME's defaults (``kernel_size=4, max_dist=200, ratio=0.2``), in Lab
      space for RGB images. It breaks ties with random noise, hence
      ``random_state``.
    * ``"slic"``: :func:`skimage.segmentation.slic` (k-means in colour and
      space), in Lab for RGB images.
    * ``"felzenszwalb"``: :func:`skimage.segmentation.felzenszwalb` (graph
      based).
    * ``"grid"``: about ``n_segments`` square-ish rectangular cells; no
      dependence on the pixel values.

    uint8 images are scaled to [0, 1] by scikit-image; parameters that depend
    on the pixel scale (``max_dist``, ``ratio``, ``compactness``, ``scale``)
    assume that range for floats too. Only RGB images are converted to Lab
    (whose L spans 0..100) by quickshift and slic, so gray and other images
    usually need a larger ``ratio`` (quickshift) or a smaller
    ``compactness`` (slic) to get as many segments.

    Parameters
    ----------
    method : {"quickshift", "slic", "felzenszwalb", "grid"}, \
            default="quickshift"
        The segmentation algorithm.
    n_segments : int, default=100
        Approximate number of segments (``"slic"`` and ``"grid"``).
    compactness : float, default=10.0
        ``"slic"``: balance of colour and space proximity; higher gives more
        square segments.
    kernel_size : float, default=4
        ``"quickshift"``: width of the Gaussian kernel estimating the density.
    max_dist : float, default=200
        ``"quickshift"``: cut-off distance; higher gives fewer segments.
    ratio : float, default=0.2
        ``"quickshift"``: balance of colour and space proximity, in [0, 1].
    scale : float, default=1.0
        ``"felzenszwalb"``: higher gives larger segments.
    sigma : float or None, default=None
        Width of the Gaussian pre-smoothing, in pixels, for ``"felzenszwalb"``,
        ``"slic"`` and ``"quickshift"``. None uses 0.8 for
        ``"felzenszwalb"`` and 0 (no smoothing) for the others.
    min_size : int, default=20
        ``"felzenszwalb"``: minimum segment size in pixels.
    random_state : int, RandomState instance or None, default=None
        Seed of ``"quickshift"``'s tie-breaking noise; every image of a call
        uses the same seed, so an image's segmentation does not depend on
        the rest of the batch. Pass an int for reproducible results.
    n_jobs : int or None, default=None
        Number of joblib workers segmenting images in parallel; None means 1
        unless in a :func:`joblib.parallel_config` context.
    image_shape : tuple of int or None, default=None
        How to read a flattened ``(n, H * W * C)`` input: ``(H, W)`` or
        ``(H, W, C)``. Without it a 2-D input is read as one-row grayscale
        images ``(1, n_features)``, except rows that look like flattened
        square images (``s * s`` or ``3 * s * s`` features, ``s >= 4``):
        ``fit`` refuses them and suggests ``image_shape`` (see
        :func:`~sklearn_xai.utils.validate_images`).

    Attributes
    ----------
    image_shape_ : tuple of (int, int, int)
        Shape ``(H, W, C)`` of the images seen in ``fit``.
    n_features_in_ : int
        Number of values per image seen in ``fit``.

    References
    ----------
    .. [1] A. Vedaldi and S. Soatto, "Quick shift and kernel methods for mode
       seeking", ECCV 2008.
    .. [2] R. Achanta et al., "SLIC superpixels compared to state-of-the-art
       superpixel methods", TPAMI 34(11), 2012.
    .. [3] P. F. Felzenszwalb and D. P. Huttenlocher, "Efficient graph-based
       image segmentation", IJCV 59(2), 2004.
    .. [4] M. T. Ribeiro, S. Singh and C. Guestrin, "Why should I trust you?
       Explaining the predictions of any classifier", KDD 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.preprocessing import SuperpixelSegmenter
    >>> images = np.zeros((2, 8, 8, 3))
    >>> maps = SuperpixelSegmenter(method="grid", n_segments=4).fit_transform(images)
    >>> maps.shape, maps.dtype, int(maps[0].max()) + 1
    ((2, 8, 8), dtype('int32'), 4)
    >>> maps[0, ::4, ::4].tolist()
    [[0, 1], [2, 3]]
    """

    # One-row images would silently give garbage: refuse flattened rows.
    _flat_images = "raise"

    _parameter_constraints = {
        "method": [StrOptions({"quickshift", "slic", "felzenszwalb", "grid"})],
        "n_segments": [Interval(Integral, 1, None, closed="left")],
        "compactness": [Interval(Real, 0, None, closed="neither")],
        "kernel_size": [Interval(Real, 0, None, closed="neither")],
        "max_dist": [Interval(Real, 0, None, closed="left")],
        "ratio": [Interval(Real, 0, 1, closed="both")],
        "scale": [Interval(Real, 0, None, closed="neither")],
        "sigma": [None, Interval(Real, 0, None, closed="left")],
        "min_size": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [None, Integral],
        "image_shape": [None, tuple],
    }

    def __init__(
        self,
        *,
        method="quickshift",
        n_segments=100,
        compactness=10.0,
        kernel_size=4,
        max_dist=200,
        ratio=0.2,
        scale=1.0,
        sigma=None,
        min_size=20,
        random_state=None,
        n_jobs=None,
        image_shape=None,
    ):
        self.method = method
        self.n_segments = n_segments
        self.compactness = compactness
        self.kernel_size = kernel_size
        self.max_dist = max_dist
        self.ratio = ratio
        self.scale = scale
        self.sigma = sigma
        self.min_size = min_size
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.image_shape = image_shape

    def transform(self, X):
        """Segment every image.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images to segment.

        Returns
        -------
        labels : ndarray of shape (n, H, W) or (n, H * W), dtype int32
            One label map per image, with labels ``0..k-1``; flattened
            ``(n, H * W)`` when ``X`` was flattened.
        """
        check_is_fitted(self)
        images, layout = self._validate_images(X, reset=False)
        return layout.restore_maps(self._transform_images(images))

    def _segment_args(self):
        """``(method, params, seed)``: what :func:`_segment` gets for each image.

        Everything a call's label maps depend on besides the images: the
        method, its resolved parameters and the int seed drawn from
        ``random_state`` (one draw per call, shared by its images). Read by
        the explainers' segmentation cache
        (:func:`~sklearn_xai.attribution._perturbation.make_segmenter`).
        """
        if self.sigma is not None:
            sigma = float(self.sigma)
        else:
            sigma = 0.8 if self.method == "felzenszwalb" else 0.0
        params = {
            "n_segments": self.n_segments,
            "compactness": self.compactness,
            "kernel_size": self.kernel_size,
            "max_dist": self.max_dist,
            "ratio": self.ratio,
            "scale": self.scale,
            "sigma": sigma,
            "min_size": self.min_size,
        }
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        return self.method, params, seed

    def _transform_images(self, images):
        method, params, seed = self._segment_args()
        maps = Parallel(n_jobs=self.n_jobs)(
            delayed(_segment)(image, method, params, seed) for image in images
        )
        return np.stack(maps)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
