import numpy as np
import pytest

from sklearn_xai.visualization import overlay_attribution
from sklearn_xai.visualization._overlay import colormap_names, normalize_attribution

GRAY = 128  # the 8-bit value of a 0.5 gray image


def _signed_map(size=16):
    """+1 on the top-left block, -1 on the bottom-right block, 0 elsewhere."""
    a = np.zeros((size, size))
    a[2:6, 2:6] = 1.0
    a[10:14, 10:14] = -1.0
    return a


POSITIVE = (slice(2, 6), slice(2, 6))
NEGATIVE = (slice(10, 14), slice(10, 14))
ZERO = (slice(0, 2), slice(8, 16))


def _changed(overlay, region, original=GRAY):
    return (overlay[region] != original).any(axis=-1)


@pytest.mark.parametrize(
    "sign, positive_changes, negative_changes",
    [
        ("positive", True, False),
        ("negative", False, True),
        ("absolute", True, True),
        ("all", True, True),
    ],
)
def test_sign_colours_exactly_the_selected_pixels(
    sign, positive_changes, negative_changes
):
    image = np.full((16, 16), 0.5)
    overlay = overlay_attribution(image, _signed_map(), sign=sign, cmap="bwr")
    assert _changed(overlay, POSITIVE).all() == positive_changes
    assert _changed(overlay, POSITIVE).any() == positive_changes
    assert _changed(overlay, NEGATIVE).all() == negative_changes
    assert _changed(overlay, NEGATIVE).any() == negative_changes
    assert (overlay[ZERO] == GRAY).all()


def test_sign_all_tells_positive_from_negative_with_bwr():
    overlay = overlay_attribution(
        np.full((16, 16), 0.5), _signed_map(), sign="all", cmap="bwr", alpha=1.0
    )
    red, _, blue = overlay[3, 3].astype(int)
    assert red > 200 and blue < 50  # positive: red
    red, _, blue = overlay[12, 12].astype(int)
    assert blue > 200 and red < 50  # negative: blue


@pytest.mark.parametrize(
    "image",
    [
        np.full((16, 16), 0.5),
        np.full((16, 16, 1), 0.5, dtype=np.float32),
        np.full((16, 16), GRAY, dtype=np.uint8),
        np.full((16, 16, 3), GRAY, dtype=np.uint8),
        np.full((16, 16, 3), 0.5),
    ],
    ids=["gray-float", "gray-1-channel", "gray-uint8", "rgb-uint8", "rgb-float"],
)
def test_gray_and_colour_images_give_rgb_uint8(image):
    overlay = overlay_attribution(image, _signed_map())
    assert overlay.shape == (16, 16, 3)
    assert overlay.dtype == np.uint8
    assert (overlay[ZERO] == GRAY).all()
    assert _changed(overlay, POSITIVE).all()


def test_colour_image_keeps_its_colours_where_attribution_is_zero():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    overlay = overlay_attribution(image, _signed_map())
    np.testing.assert_array_equal(overlay[ZERO], image[ZERO])
    assert (overlay[POSITIVE] != image[POSITIVE]).any(axis=-1).all()


def test_float_images_out_of_range_are_min_max_scaled():
    image = np.linspace(-1.0, 3.0, 16 * 16).reshape(16, 16)
    overlay = overlay_attribution(image, np.zeros((16, 16)))
    expected = np.rint((image + 1.0) / 4.0 * 255.0).astype(np.uint8)
    np.testing.assert_array_equal(overlay, np.repeat(expected[..., None], 3, -1))


def test_attribution_at_another_resolution_is_resized():
    coarse = np.zeros((4, 4))
    coarse[1, 2] = 1.0  # covers rows 8-15, cols 16-23 of a 32x32 image
    overlay = overlay_attribution(np.full((32, 32), 0.5), coarse)
    assert overlay.shape == (32, 32, 3)
    assert _changed(overlay, (slice(10, 14), slice(18, 22))).all()
    assert (overlay[24:, :8] == GRAY).all()  # far from the relevant cell
    # Larger maps than the image work too.
    fine = np.kron(coarse, np.ones((16, 16)))  # 64x64
    overlay = overlay_attribution(np.full((32, 32), 0.5), fine)
    assert _changed(overlay, (slice(10, 14), slice(18, 22))).all()
    assert (overlay[24:, :8] == GRAY).all()


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_alpha_sets_the_strength_of_the_heatmap(alpha):
    overlay = overlay_attribution(
        np.full((16, 16), 0.5), _signed_map(), alpha=alpha, outlier_percentile=0
    )
    hottest = overlay[3, 3].astype(int)
    # jet at 1.0 is dark red (127, 0, 0) in RGB; the blend is linear in alpha.
    expected = (1 - alpha) * GRAY + alpha * np.array([127, 0, 0])
    np.testing.assert_allclose(hottest, expected, atol=1.5)


def test_zero_attribution_leaves_the_image_unchanged():
    image = np.random.default_rng(0).random((8, 8, 3))
    overlay = overlay_attribution(image, np.zeros((8, 8)), sign="all")
    np.testing.assert_array_equal(overlay, np.rint(image * 255).astype(np.uint8))


def test_weaker_attribution_is_blended_less():
    a = np.zeros((16, 16))
    a[2:6, 2:6] = 1.0
    a[10:14, 10:14] = 0.25
    overlay = overlay_attribution(np.full((16, 16), 1.0), a, outlier_percentile=0)
    shift_strong = np.abs(overlay[3, 3].astype(int) - 255).sum()
    shift_weak = np.abs(overlay[12, 12].astype(int) - 255).sum()
    assert 0 < shift_weak < shift_strong


@pytest.mark.parametrize("sign", ["positive", "negative", "absolute", "all"])
@pytest.mark.parametrize("outlier_percentile", [0.0, 1.0, 2.0, 10.0])
def test_normalization_matches_captum(sign, outlier_percentile):
    from captum.attr._utils.visualization import _normalize_attr

    a = np.random.default_rng(0).standard_normal((12, 12)) ** 3
    ours = normalize_attribution(a, sign=sign, outlier_percentile=outlier_percentile)
    captum_sign = "absolute_value" if sign == "absolute" else sign
    # For "negative" captum divides by a negative threshold: magnitudes, as ours.
    theirs = _normalize_attr(a, captum_sign, outlier_percentile)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_outlier_percentile_stops_one_pixel_washing_out_the_rest():
    a = np.full((16, 16), 1.0)
    a[0, 0] = 1000.0  # one extreme pixel holds ~80% of the mass
    white = np.ones((16, 16))
    faint = overlay_attribution(white, a, outlier_percentile=0.0)
    strong = overlay_attribution(white, a, outlier_percentile=90.0)
    assert np.abs(faint[8, 8].astype(int) - 255).sum() < 10
    assert np.abs(strong[8, 8].astype(int) - 255).sum() > 100


@pytest.mark.parametrize("cmap", ["jet", "JET", "Inferno", "viridis", "turbo", "hot"])
def test_opencv_colormaps_are_accepted_in_any_case(cmap):
    overlay = overlay_attribution(np.full((16, 16), 0.5), _signed_map(), cmap=cmap)
    reference = overlay_attribution(
        np.full((16, 16), 0.5), _signed_map(), cmap=cmap.lower()
    )
    np.testing.assert_array_equal(overlay, reference)
    assert _changed(overlay, POSITIVE).all()


def test_colormap_names_lists_opencv_maps_and_bwr():
    names = colormap_names()
    assert names == sorted(names)
    assert {"jet", "inferno", "viridis", "turbo", "hot", "bwr"} <= set(names)


def test_inputs_are_not_modified():
    image = np.random.default_rng(0).random((16, 16, 3))
    attribution = _signed_map()
    image_copy, attribution_copy = image.copy(), attribution.copy()
    image.flags.writeable = False
    attribution.flags.writeable = False
    overlay_attribution(image, attribution, sign="all")
    np.testing.assert_array_equal(image, image_copy)
    np.testing.assert_array_equal(attribution, attribution_copy)
    uint8 = np.full((16, 16, 3), GRAY, dtype=np.uint8)
    overlay = overlay_attribution(uint8, attribution)
    assert not np.shares_memory(overlay, uint8)
    assert (uint8 == GRAY).all()


def _nan_map():
    a = np.zeros((8, 8))
    a[1, 1] = np.nan
    return a


def _inf_map():
    a = np.zeros((8, 8))
    a[1, 1] = np.inf
    return a


@pytest.mark.parametrize(
    "image, attribution, kwargs, error, match",
    [
        (np.zeros((8, 8)), _nan_map(), {}, ValueError, "attribution contains NaN"),
        (np.zeros((8, 8)), _inf_map(), {}, ValueError, "attribution contains NaN"),
        (np.zeros((8, 8)), np.zeros((1, 8, 8)), {}, ValueError, r"shape \(H, W\)"),
        (np.zeros((8, 8)), np.zeros(8), {}, ValueError, r"got an array of shape \(8\)"),
        (np.zeros((8, 8)), np.array([["a"]]), {}, TypeError, "attribution must be"),
        (np.zeros((2, 8, 8)), np.zeros((8, 8)), {}, ValueError, "image must be one"),
        (np.zeros((8, 8, 4)), np.zeros((8, 8)), {}, ValueError, r"\(H, W, 3\)"),
        (np.zeros(8), np.zeros((8, 8)), {}, ValueError, "image must be one image"),
        (np.full((8, 8), np.nan), np.zeros((8, 8)), {}, ValueError, "image contains"),
        (np.zeros((0, 8)), np.zeros((8, 8)), {}, ValueError, "image is empty"),
        (np.zeros((8, 8)), np.zeros((8, 8)), {"cmap": "nope"}, ValueError, "cmap"),
        (np.zeros((8, 8)), np.zeros((8, 8)), {"cmap": 3}, TypeError, "cmap"),
        (np.zeros((8, 8)), np.zeros((8, 8)), {"sign": "pos"}, ValueError, "sign"),
        (np.zeros((8, 8)), np.zeros((8, 8)), {"alpha": 1.5}, ValueError, "alpha"),
        (
            np.zeros((8, 8)),
            np.zeros((8, 8)),
            {"outlier_percentile": 100},
            ValueError,
            "outlier_percentile",
        ),
    ],
    ids=[
        "nan-attribution",
        "inf-attribution",
        "3d-attribution",
        "1d-attribution",
        "string-attribution",
        "batch-image",
        "rgba-image",
        "1d-image",
        "nan-image",
        "empty-image",
        "unknown-cmap",
        "cmap-not-str",
        "unknown-sign",
        "alpha-too-large",
        "percentile-100",
    ],
)
def test_bad_input_raises_a_clear_error(image, attribution, kwargs, error, match):
    with pytest.raises(error, match=match):
        overlay_attribution(image, attribution, **kwargs)
