import cv2
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from sklearn_xai.preprocessing import ImageFlattener, ImageReader


def _rgb_image(height=4, width=6, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)


def _write(path, rgb):
    """Write an RGB(A) or gray image with OpenCV (which expects BGR)."""
    if rgb.ndim == 3 and rgb.shape[2] == 3:
        rgb = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    elif rgb.ndim == 3 and rgb.shape[2] == 4:
        rgb = cv2.cvtColor(rgb, cv2.COLOR_RGBA2BGRA)
    assert cv2.imwrite(str(path), rgb)
    return path


@pytest.fixture
def two_files(tmp_path):
    images = [_rgb_image(seed=0), _rgb_image(seed=1)]
    paths = [_write(tmp_path / f"img{i}.png", im) for i, im in enumerate(images)]
    return paths, np.stack(images)


def test_reads_rgb_in_rgb_order(two_files):
    paths, expected = two_files
    out = ImageReader().fit_transform(paths)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize(
    "as_input",
    [
        lambda p: [str(x) for x in p],
        lambda p: np.asarray([str(x) for x in p]),
        lambda p: np.asarray([[str(x)] for x in p], dtype=object),
        lambda p: pd.Series([str(x) for x in p]),
        lambda p: pd.DataFrame({"path": [str(x) for x in p]}),
    ],
    ids=["list", "1d-array", "column", "series", "dataframe"],
)
def test_accepts_paths_as_column_or_sequence(two_files, as_input):
    paths, expected = two_files
    reader = ImageReader().fit(as_input(paths))
    np.testing.assert_array_equal(reader.transform(as_input(paths)), expected)
    assert reader.n_features_in_ == 1


def test_dataframe_column_through_column_transformer(two_files):
    paths, expected = two_files
    frame = pd.DataFrame({"path": [str(p) for p in paths], "other": [1, 2]})
    reader = make_pipeline(ImageReader(color="gray"), ImageFlattener())
    pipe = ColumnTransformer([("read", reader, ["path"])])
    out = pipe.fit_transform(frame)
    gray = np.stack([cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in paths])
    np.testing.assert_array_equal(out, gray.reshape(2, -1))
    assert expected.shape == (2, 4, 6, 3)


def test_gray_and_float32(two_files):
    paths, expected = two_files
    gray = ImageReader(color="gray").fit_transform(paths)
    assert gray.shape == (2, 4, 6)
    ref = cv2.imread(str(paths[0]), cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(gray[0], ref)
    floats = ImageReader(dtype="float32").fit_transform(paths)
    assert floats.dtype == np.float32
    np.testing.assert_allclose(floats, expected / 255.0, rtol=1e-6)
    assert 0.0 <= floats.min() and floats.max() <= 1.0


def test_unchanged_keeps_alpha_and_gray(tmp_path):
    rgba = np.random.default_rng(0).integers(0, 256, (3, 5, 4), np.uint8)
    gray = rgba[..., 0].copy()
    rgba_path = _write(tmp_path / "a.png", rgba)
    gray_path = _write(tmp_path / "g.png", gray)
    np.testing.assert_array_equal(
        ImageReader(color="unchanged").fit_transform([rgba_path])[0], rgba
    )
    out = ImageReader(color="unchanged").fit_transform([gray_path, gray_path])
    assert out.shape == (2, 3, 5)
    with pytest.raises(ValueError, match="3x5 gray, 3x5 with 4 channels"):
        ImageReader(color="unchanged").fit_transform([gray_path, rgba_path])
    # rgb drops the alpha channel
    np.testing.assert_array_equal(
        ImageReader().fit_transform([rgba_path])[0], rgba[..., :3]
    )


def test_sixteen_bit_files(tmp_path):
    gray16 = np.array([[0, 256, 65535]], dtype=np.uint16)
    path = _write(tmp_path / "deep.png", gray16)
    as_u8 = ImageReader(color="unchanged").fit_transform([path])
    np.testing.assert_array_equal(as_u8[0], [[0, 1, 255]])
    as_f = ImageReader(color="unchanged", dtype="float32").fit_transform([path])
    np.testing.assert_allclose(as_f[0], gray16 / 65535.0, rtol=1e-6)


def test_non_ascii_path(tmp_path):
    folder = tmp_path / "données_图像"
    folder.mkdir()
    path = _write(folder / "ñandú.png", _rgb_image())
    np.testing.assert_array_equal(ImageReader().fit_transform([path])[0], _rgb_image())


@pytest.mark.parametrize(
    ("size", "expected"), [(2, (2, 2)), ((8, 3), (8, 3))], ids=["int", "tuple"]
)
def test_size_resizes_different_images(tmp_path, size, expected):
    big = _write(tmp_path / "big.png", _rgb_image(8, 8))
    small = _write(tmp_path / "small.png", _rgb_image(4, 6))
    out = ImageReader(size=size).fit_transform([big, small])
    assert out.shape == (2, *expected, 3)
    gray = ImageReader(size=size, color="gray").fit_transform([big, small])
    assert gray.shape == (2, *expected)


def test_shrinking_uses_area_averaging(tmp_path):
    image = np.zeros((4, 4, 3), np.uint8)
    image[::2, ::2] = 200
    path = _write(tmp_path / "checker.png", image)
    out = ImageReader(size=2).fit_transform([path])
    np.testing.assert_array_equal(out, np.full((1, 2, 2, 3), 50, np.uint8))


def test_different_sizes_without_size_are_named(tmp_path):
    a = _write(tmp_path / "a.png", _rgb_image(4, 6))
    b = _write(tmp_path / "b.png", _rgb_image(5, 5))
    with pytest.raises(ValueError, match=r"4x6 with 3 channels, 5x5 with 3 channels"):
        ImageReader().fit_transform([a, b])


def test_every_unreadable_file_is_listed(tmp_path, two_files):
    paths, _ = two_files
    missing = tmp_path / "missing.png"
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"not an image")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"could not read 3 of 5") as info:
        ImageReader().fit_transform([paths[0], missing, corrupt, empty, paths[1]])
    message = str(info.value)
    for bad in (missing, corrupt, empty):
        assert str(bad) in message
    assert str(paths[0]) not in message


def test_directory_is_unreadable(tmp_path):
    with pytest.raises(ValueError, match="could not read 1 of 1"):
        ImageReader().fit_transform([tmp_path])


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        ([], ValueError, "no image paths"),
        ("one.png", ValueError, "single path"),
        (np.array([["a", "b"]], dtype=object), ValueError, r"shape \(1, 2\)"),
        ([1, 2], TypeError, "must hold image paths"),
    ],
    ids=["empty", "single-string", "two-columns", "not-paths"],
)
def test_invalid_path_inputs(X, error, match):
    with pytest.raises(error, match=match):
        ImageReader().fit(X)


def test_invalid_size_is_rejected():
    with pytest.raises(ValueError, match="size must be a positive int"):
        ImageReader(size=(2, 0)).fit(["a.png"])
    with pytest.raises(ValueError, match="'color' parameter"):
        ImageReader(color="cmyk").fit(["a.png"])


def test_fit_reads_nothing_and_transform_needs_fit(tmp_path):
    reader = ImageReader()
    with pytest.raises(NotFittedError):
        reader.transform([tmp_path / "x.png"])
    assert reader.fit([tmp_path / "does-not-exist.png"]) is reader


def test_parallel_reading_gives_the_same_batch(two_files):
    paths, expected = two_files
    out = ImageReader(n_jobs=2).fit_transform(paths * 3)
    np.testing.assert_array_equal(out, np.concatenate([expected] * 3))
