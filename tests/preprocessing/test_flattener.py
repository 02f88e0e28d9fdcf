import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.pipeline import make_pipeline

from sklearn_xai.preprocessing import ImageFlattener, ImageResizer


def test_gray_names_and_values():
    images = np.arange(12).reshape(2, 2, 3)
    flattener = ImageFlattener().fit(images)
    out = flattener.transform(images)
    np.testing.assert_array_equal(out, images.reshape(2, 6))
    assert flattener.get_feature_names_out().tolist() == [
        "pixel_r0_c0",
        "pixel_r0_c1",
        "pixel_r0_c2",
        "pixel_r1_c0",
        "pixel_r1_c1",
        "pixel_r1_c2",
    ]


def test_colour_names_follow_the_flattening_order():
    images = np.arange(2 * 2 * 3 * 2).reshape(2, 2, 3, 2).astype(np.float32)
    flattener = ImageFlattener().fit(images)
    names = flattener.get_feature_names_out()
    out = flattener.transform(images)
    assert len(names) == out.shape[1] == 12
    column = names.tolist().index("pixel_r1_c2_ch1")
    np.testing.assert_array_equal(out[:, column], images[:, 1, 2, 1])
    assert out.dtype == np.float32


def test_pandas_output_has_pixel_columns():
    images = np.random.default_rng(0).random((3, 4, 4, 3))
    frame = ImageFlattener().set_output(transform="pandas").fit_transform(images)
    assert isinstance(frame, pd.DataFrame)
    assert frame.shape == (3, 48)
    assert frame.columns[-1] == "pixel_r3_c3_ch2"
    np.testing.assert_array_equal(frame["pixel_r1_c2_ch0"], images[:, 1, 2, 0])


def test_pandas_output_at_the_end_of_an_image_pipeline():
    # Image steps return 4-D arrays and have no set_output: configure the
    # flattener, the step that makes the data tabular.
    images = np.random.default_rng(0).random((3, 4, 4, 3))
    pipe = make_pipeline(ImageResizer(size=2), ImageFlattener())
    pipe[-1].set_output(transform="pandas")
    frame = pipe.fit_transform(images)
    assert isinstance(frame, pd.DataFrame)
    assert frame.shape == (3, 12)
    assert frame.columns[-1] == "pixel_r1_c1_ch2"


@pytest.mark.parametrize(
    "shape", [(2, 3, 4), (2, 3, 4, 1), (2, 3, 4, 3)], ids=["gray", "1ch", "rgb"]
)
def test_inverse_restores_the_fitted_shape(shape):
    images = np.random.default_rng(0).random(shape)
    flattener = ImageFlattener().fit(images)
    back = flattener.inverse_transform(flattener.transform(images))
    expected = images[..., 0] if images.ndim == 4 and shape[-1] == 1 else images
    np.testing.assert_array_equal(back, expected)


def test_flattened_input_with_image_shape():
    rows = np.arange(24.0).reshape(2, 12)
    flattener = ImageFlattener(image_shape=(2, 2, 3)).fit(rows)
    np.testing.assert_array_equal(flattener.transform(rows), rows)
    assert flattener.get_feature_names_out()[0] == "pixel_r0_c0_ch0"
    assert flattener.inverse_transform(rows).shape == (2, 2, 2, 3)


def test_output_is_a_copy():
    images = np.zeros((1, 2, 2))
    out = ImageFlattener().fit_transform(images)
    assert not np.shares_memory(out, images)


def test_size_must_match_fit():
    flattener = ImageFlattener().fit(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match=r"images of size 4x5.*fitted on.*4x4"):
        flattener.transform(np.zeros((1, 4, 5)))


def test_inverse_needs_the_fitted_number_of_features():
    flattener = ImageFlattener().fit(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="X has 15 features"):
        flattener.inverse_transform(np.zeros((1, 15)))


def test_input_features_length_is_checked():
    flattener = ImageFlattener().fit(np.zeros((1, 2, 2)))
    assert len(flattener.get_feature_names_out(["a", "b", "c", "d"])) == 4
    with pytest.raises(ValueError, match=r"input_features should have length.*\(4\)"):
        flattener.get_feature_names_out(["a"])


@settings(max_examples=25, deadline=None)
@given(
    images=arrays(
        st.sampled_from([np.uint8, np.float32, np.float64]),
        st.tuples(
            st.integers(1, 3), st.integers(1, 5), st.integers(1, 5), st.integers(2, 4)
        ),
        elements=st.integers(0, 255),
    )
)
def test_round_trip(images):
    flattener = ImageFlattener().fit(images)
    rows = flattener.transform(images)
    assert rows.shape == (images.shape[0], np.prod(images.shape[1:]))
    assert rows.dtype == images.dtype
    assert len(flattener.get_feature_names_out()) == rows.shape[1]
    np.testing.assert_array_equal(flattener.inverse_transform(rows), images)
