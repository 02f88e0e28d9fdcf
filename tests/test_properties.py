"""Property-based tests over every public callable (issue 12, section 10).

Every public estimator method, metric and array-taking visualization function
is called with generated inputs: shapes, dtypes (bool, uint8, uint16, int64,
float16/32/64), value ranges, NaN/inf, empty batches, non-contiguous,
read-only and reversed arrays, flattened and nested-list batches, mismatched
lengths, label types and target values. Each call must either

* return a valid result: the documented shape and dtype, finite values
  (metrics may return NaN exactly where an attribution map is constant, with
  a ``DegenerateExplanationWarning``: that is documented), or
* raise ``ValueError`` / ``TypeError`` whose message names an argument of the
  call and is not a numpy / torch / OpenCV internal message,

and an input that is invalid whatever the callable (NaN, inf, an empty batch,
a wrong number of dimensions, strings, mismatched lengths, unknown labels)
must raise. Any other exception (``IndexError``, ``AxisError``,
``RuntimeError``, ``AssertionError``, ``OverflowError``,
``ZeroDivisionError``, ...) is a failure.

The callables are enumerated from the ``__all__`` of the subpackages in
:data:`SUBPACKAGES` (classes contribute their public methods), so a new
public name fails :func:`test_every_public_callable_is_covered` until it gets
an adapter in :data:`ADAPTERS` or a reason in :data:`SKIPPED`.

Profiles (registered in ``tests/conftest.py``): ``sklearn-xai-fast`` runs in
``make test``; the long one runs with ``SKLEARN_XAI_HYPOTHESIS=long``::

    SKLEARN_XAI_HYPOTHESIS=long .venv/bin/python -m pytest -p no:xdist -m slow \\
        tests/test_properties.py

:func:`test_summary` (last in the file) prints how many callables were
covered and how many inputs were run.
"""

from __future__ import annotations

import collections
import functools
import importlib
import inspect
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

SUBPACKAGES = (
    "preprocessing",
    "neural_network",
    "attribution",
    "metrics",
    "surrogate",
    "feature_selection",
    "visualization",
)

LONG = os.environ.get("SKLEARN_XAI_HYPOTHESIS", "fast") == "long"

#: scikit-learn's data methods, covered wherever a class has them (other
#: methods inherited from scikit-learn, skorch or torch are their API).
DATA_METHODS = {
    "decision_function",
    "explain",
    "fit",
    "fit_transform",
    "get_feature_names_out",
    "get_support",
    "inverse_transform",
    "partial_fit",
    "predict",
    "predict_log_proba",
    "predict_proba",
    "score",
    "transform",
}

#: Parameter plumbing with no array input, on every estimator.
GENERIC_METHODS = {"get_params", "set_params", "get_metadata_routing", "set_output"}

#: Public callables that cannot take generated arrays, each with its reason.
SKIPPED = {
    "neural_network.load_model": "reads a file path (tests/neural_network/test_io.py)",
    "neural_network.save_model": "writes a file path (tests/neural_network/test_io.py)",
    "neural_network.SmallCNN": "a torch nn.Module taking tensors; its forward pass "
    "runs inside every CNNClassifier call here",
    "neural_network.EpochProgressBar": "a skorch callback called by skorch's "
    "training loop, not with user arrays",
    "neural_network.CNNClassifier.initialize_module": "skorch's initialization "
    "hook, no input; run by every fit here",
    "preprocessing.ImageReader": "reads image files from paths "
    "(tests/preprocessing/test_reader.py)",
    "metrics.DegenerateExplanationWarning": "a warning class; its emission is "
    "checked on every metric call here",
}


# -- the outcome rule ------------------------------------------------------------------

#: Messages of numpy, torch, OpenCV and Python internals: never what a user
#: should read.
INTERNAL = re.compile(
    "|".join(
        [
            r"index -?\d+ is out of bounds",
            r"out of bounds for axis",
            r"could not be broadcast",
            r"cannot reshape array",
            r"setting an array element with a sequence",
            r"inhomogeneous",
            r"zero-size array",
            r"axis -?\d+ is out of bounds",
            r"all the input array dimensions",
            r"negative strides?",
            r"mat1 and mat2",
            r"Given groups=",
            r"expected scalar type",
            r"Sizes of tensors must match",
            r"must match the size of tensor",
            r"not implemented for '",
            r"can't convert",
            r"unsupported operand",
            r"has no len\(\)",
            r"'NoneType' object",
            r"not subscriptable",
            r"unhashable type",
            r"takes \d+ positional argument",
            r"unexpected keyword argument",
            r"could not convert string",
            r"Cannot cast",
            r"ufunc '",
            r"OpenCV\(",
            r"error: \(-\d+",
            r"Expected \d+D",
            r"Expected input batch_size",
            r"truth value of an array",
            r"only integer scalar arrays",
            r"invalid literal for int",
            r"object arrays are not supported",
            r"Calculated padded input size",
            r"Input type \(.*\) and weight type",
        ]
    )
)

#: The expected failures: faults the suite finds that are not fixed yet, as
#: (callable regex, exception type, message regex) -> reason. A matching
#: outcome is counted as a known fault instead of failing. Empty: every fault
#: found so far is fixed (see the commit that added this file).
KNOWN_FAULTS: dict[tuple[str, type, str], str] = {}

COUNTS: collections.Counter = collections.Counter()
OUTCOMES: collections.Counter = collections.Counter()


@dataclass
class Arg:
    """One generated argument, and why it is invalid (None: it may be valid)."""

    value: Any
    bad: str | None = None
    n: int | None = None
    hw: tuple | None = None
    ndim: int | None = None
    idx: np.ndarray | None = None
    mutation: str | None = None


@dataclass
class Case:
    """One call: ``call()`` and ``check(result, warnings)`` for its result."""

    call: Any
    check: Any
    names: tuple
    bad: str | None = None


def _names_pattern(names):
    return re.compile(
        "|".join(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9])" for n in names)
    )


def run_case(qualname, case):
    """Call, then hold the outcome to the rule of the module docstring."""
    COUNTS[qualname] += 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = case.call()
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt) or type(exc).__module__.startswith(
                ("hypothesis", "_pytest")
            ):
                raise
            for (pattern, kind, message), _ in KNOWN_FAULTS.items():
                if (
                    re.fullmatch(pattern, qualname)
                    and isinstance(exc, kind)
                    and re.search(message, str(exc))
                ):
                    OUTCOMES[qualname, "known fault"] += 1
                    return
            _check_error(qualname, case, exc)
            OUTCOMES[qualname, "error"] += 1
            return
        finally:
            _close_figures()
    if case.bad is not None:
        raise AssertionError(
            f"{qualname} accepted an invalid input ({case.bad}) and returned "
            f"{_describe(result)}"
        )
    case.check(result, caught)
    OUTCOMES[qualname, "result"] += 1


def _check_error(qualname, case, exc):
    kind = type(exc)
    message = str(exc)
    if (
        not isinstance(exc, (ValueError, TypeError))
        or isinstance(exc, np.exceptions.AxisError)
        or isinstance(exc, (IndexError, KeyError, AttributeError, ArithmeticError))
    ):
        raise AssertionError(
            f"{qualname} raised {kind.__module__}.{kind.__name__}: {message}"
        ) from exc
    if INTERNAL.search(message):
        raise AssertionError(
            f"{qualname} raised {kind.__name__} with an internal message: {message}"
        ) from exc
    if not _names_pattern(case.names).search(message):
        raise AssertionError(
            f"{qualname} raised {kind.__name__} whose message names none of "
            f"{list(case.names)}: {message}"
        ) from exc


def _describe(result):
    if isinstance(result, np.ndarray):
        return f"an array of shape {result.shape} and dtype {result.dtype}"
    return f"{type(result).__name__} {str(result)[:200]}"


def _close_figures():
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


# -- fixtures: three tiny domains, built once per module -------------------------------


@dataclass
class Domain:
    name: str
    X: np.ndarray  # reference images in [0, 1], float32
    y: np.ndarray
    model: Any  # a fitted classifier with predict_proba
    classes: np.ndarray

    @property
    def hw(self):
        return self.X.shape[1:3]

    @property
    def image_shape(self):
        return tuple(self.X.shape[1:])


STRING_CLASSES = np.array(["cat", "dog", "eel"])


@functools.cache
def domain(name):
    """``lr6``: LogisticRegression on 6x6 gray images with string labels;
    ``cnn8``: a one-epoch CNNClassifier on 8x8 digits; ``rgb8``: a
    TorchClassifier on a tiny nn.Sequential over 8x8 RGB images;
    ``onnx8``: the same network exported to ONNX."""
    if name == "lr6":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        from sklearn_xai.preprocessing import ImageFlattener

        rng = np.random.default_rng(0)
        k = np.arange(60) % 3
        X = rng.random((60, 6, 6)) * 0.5
        for i, c in enumerate(k):
            X[i, :, 2 * c : 2 * c + 2] += 0.5
        X = X.astype(np.float32)
        y = STRING_CLASSES[k]
        model = make_pipeline(ImageFlattener(), LogisticRegression(max_iter=500))
        model.fit(X, y)
        return Domain(name, X, y, model, model.classes_)
    if name == "cnn8":
        from sklearn.datasets import load_digits

        from sklearn_xai.neural_network import CNNClassifier

        digits = load_digits()
        X = (digits.images[:120] / 16).astype(np.float32)
        y = digits.target[:120]
        model = CNNClassifier(max_epochs=1, lr=0.01, random_state=0).fit(X, y)
        return Domain(name, X, y, model, model.classes_)
    if name == "rgb8":
        from sklearn_xai.neural_network import TorchClassifier

        X = np.random.default_rng(1).random((30, 8, 8, 3), dtype=np.float32)
        model = TorchClassifier(_rgb_network(), classes=["a", "b", "c"]).fit(X)
        return Domain(name, X, model.predict(X), model, model.classes_)
    if name == "onnx8":
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnxscript")
        import torch

        from sklearn_xai.neural_network import OnnxClassifier

        rgb = domain("rgb8")
        path = os.path.join(_tmpdir().name, "rgb8.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _rgb_network().eval(),
                (torch.zeros(1, 3, 8, 8),),
                path,
                input_names=["x"],
                dynamic_shapes=({0: torch.export.Dim("n")},),
                verbose=False,
            )
        model = OnnxClassifier(path, classes=["a", "b", "c"]).fit(rgb.X)
        return Domain(name, rgb.X, model.predict(rgb.X), model, model.classes_)
    raise KeyError(name)


@functools.cache
def _tmpdir():
    return tempfile.TemporaryDirectory(prefix="sklearn-xai-properties-")


def _rgb_network():
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )


def frozen(dom):
    from sklearn.frozen import FrozenEstimator

    return FrozenEstimator(dom.model)


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Two spinning OpenMP threads on two shared cores run many times slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- strategies ------------------------------------------------------------------------

DTYPES = ["float64", "float32", "float16", "uint8", "uint16", "int64", "bool"]
SCALES = ["unit", "unit", "0-255", "signed", "huge", "constant", "tiny"]
IMAGE_MUTATIONS = [None] * 9 + [
    "nan",
    "inf",
    "-inf",
    "empty",
    "1-d",
    "5-d",
    "strings",
    "complex",
    "wrong-size",
    "tiny",
    "wrong-channels",
]
LAYOUTS = [
    "c",
    "c",
    "reversed",
    "one-of-reversed",
    "reversed-rows",
    "strided",
    "fortran",
    "read-only",
    "list",
    "flat",
]


def _cast(values, dtype, scale):
    if dtype == "bool":
        return values > np.mean(values)
    if dtype.startswith(("uint", "int")):
        info = np.iinfo(dtype)
        if scale in ("unit", "constant", "tiny"):
            values = values * (65535 if dtype == "uint16" else 255)
        elif scale == "signed":
            values = values * 100
        with np.errstate(invalid="ignore"):  # int64's max rounds up as a float
            return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    with np.errstate(over="ignore"):
        return values.astype(dtype)


def _layout(x, layout):
    if layout == "reversed":
        return x[::-1].copy()[::-1]
    if layout == "one-of-reversed":
        return x[::-1][:1]
    if layout == "reversed-rows":
        return x[:, ::-1].copy()[:, ::-1]
    if layout == "strided":
        return np.repeat(x, 2, axis=1)[:, ::2]
    if layout == "fortran":
        return np.asfortranarray(x)
    if layout == "read-only":
        x = x.copy()
        x.flags.writeable = False
        return x
    if layout == "list":
        return x.tolist()
    if layout == "flat":
        return x.reshape(len(x), int(np.prod(x.shape[1:])))
    return x


def draw_images(data, dom, *, name="X", strict=True, flat="fitted", n_max=3):
    """An image batch from ``dom``'s images, transformed as drawn.

    ``strict``: a wrong size or channel count is invalid (fitted estimators
    that need the fitted shape). ``flat``: how a flattened batch is read:
    "fitted" (the fitted or given image_shape: same images), "rows" (one-row
    images ``(1, d)``, fit without image_shape), or None (no flat layout).
    """

    def draw(strategy, what):
        return data.draw(strategy, label=f"{name} {what}")

    n = draw(st.integers(1, n_max), "n")
    idx = np.array(
        draw(st.lists(st.integers(0, len(dom.X) - 1), min_size=n, max_size=n), "rows")
    )
    values = dom.X[idx].astype(np.float64)
    scale = draw(st.sampled_from(SCALES), "values")
    if scale == "0-255":
        values = values * 255
    elif scale == "signed":
        values = values * 2 - 1
    elif scale == "huge":
        values = values * 1e6
    elif scale == "constant":
        values = np.full_like(values, draw(st.sampled_from([0.0, 0.5, 1.0]), "fill"))
    elif scale == "tiny":
        values = values * 1e-30
    dtype = draw(st.sampled_from(DTYPES), "dtype")
    x = _cast(values, dtype, scale)
    bad = None
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = f"{dtype} values that overflow to inf"
    mutation = draw(st.sampled_from(IMAGE_MUTATIONS), "mutation")
    if mutation in ("nan", "inf", "-inf"):
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        x = x.copy()
        flat_view = x.reshape(-1)
        flat_view[draw(st.integers(0, flat_view.size - 1), "bad pixel")] = float(
            mutation
        )
        bad = f"a {mutation} pixel"
    elif mutation == "empty":
        x, idx, bad = x[:0], idx[:0], "an empty batch"
    elif mutation == "1-d":
        x, bad = x.reshape(-1), "a 1-D array"
    elif mutation == "5-d":
        x, bad = x[..., np.newaxis, np.newaxis], "a 5-D array"
    elif mutation == "strings":
        x, bad = x.astype(str), "an array of strings"
    elif mutation == "complex":
        x, bad = x.astype(np.complex128), "a complex array"
    elif mutation in ("wrong-size", "tiny"):
        if mutation == "tiny":  # 1x1 to 2x3 images
            h, w = draw(st.integers(1, 2), "tiny height"), draw(st.integers(1, 3), "w")
            x = x[:, :h, :w]
        else:
            x = x[:, :, :-1]
        bad = bad or ("images of another size" if strict else None)
    elif mutation == "wrong-channels":
        x = x[..., 0] if x.ndim == 4 else np.stack([x, x, x], axis=-1)
        bad = bad or ("images of another channel count" if strict else None)
    hw = tuple(x.shape[1:3]) if x.ndim in (3, 4) else None
    ndim = x.ndim
    choices = [c for c in LAYOUTS if flat or c != "flat"]
    layout = draw(st.sampled_from(choices), "layout") if x.ndim in (3, 4) else "c"
    if layout == "one-of-reversed" and len(x):
        idx = idx[-1:]
    if layout == "flat":
        ndim = 2
        if flat == "rows":
            hw = (1, int(np.prod(x.shape[1:])))
        elif mutation in ("wrong-size", "tiny") and not strict:
            hw = None  # read as one-row images: the callable decides
    x = _layout(x, layout)
    if bad is not None and mutation in (None, "nan", "inf", "-inf"):
        if np.isfinite(np.asarray(x, dtype=np.float64)).all():
            bad = None  # the non-finite value was in an image left out
    n_out = len(x) if ndim else None
    return Arg(x, bad, n=n_out, hw=hw, ndim=ndim, idx=idx, mutation=mutation)


LABEL_KINDS = [
    "none",
    "none",
    "scalar",
    "python-scalar",
    "per-image",
    "per-image",
    "list",
    "unknown",
    "wrong-length",
    "2-d",
    "nan",
    "wrong-type",
    "float",
    "bool",
    "empty",
]


def draw_labels(data, classes, n, *, name, none_ok=True, unknown_ok=False):
    """Class labels for ``n`` images (a target, targets or y), as drawn."""
    kind = data.draw(st.sampled_from(LABEL_KINDS), label=f"{name} kind")
    n = n or 0
    pick = data.draw(
        st.lists(st.integers(0, len(classes) - 1), min_size=n + 1, max_size=n + 1),
        label=f"{name} picks",
    )
    per_image = np.asarray(classes)[pick[:n]]
    is_str = np.asarray(classes).dtype.kind in "US"
    if kind == "none":
        return Arg(None, None if none_ok else f"{name}=None")
    if kind == "scalar":
        return Arg(np.asarray(classes)[pick[0]])
    if kind == "python-scalar":
        return Arg(np.asarray(classes)[pick[0]].item())
    if kind == "per-image":
        return Arg(per_image)
    if kind == "list":
        return Arg(per_image.tolist())
    if kind == "unknown":
        value = np.array(["zebra"] * n) if is_str else np.full(n, 99)
        return Arg(value, None if unknown_ok else f"{name} with an unknown label")
    if kind == "wrong-length":
        return Arg(np.asarray(classes)[pick], f"{name} of length n + 1")
    if kind == "2-d":
        return Arg(per_image.reshape(-1, 1), None if unknown_ok else f"2-D {name}")
    if kind == "nan":
        return Arg(float("nan"), f"{name}=NaN")
    if kind == "wrong-type":
        value = 1 if is_str else "1"
        return Arg(value, None if unknown_ok else f"{name} of another type")
    if kind == "float":
        value = 1.5 if is_str else float(classes[pick[0]])
        return Arg(value, f"{name}=1.5" if is_str and not unknown_ok else None)
    if kind == "bool":
        return Arg(True, f"{name}=True" if is_str and not unknown_ok else None)
    return Arg([], f"empty {name}" if n else None)


ATTRIBUTION_KINDS = [
    "normal",
    "normal",
    "uniform",
    "sparse",
    "constant",
    "zero",
    "ties",
    "one-constant",
    "huge",
    "tiny",
]
ATTRIBUTION_MUTATIONS = [None] * 7 + [
    "nan",
    "inf",
    "wrong-n",
    "wrong-size",
    "2-d",
    "4-d",
    "empty",
    "strings",
    "list",
]


def draw_attributions(data, n, hw, *, name="attributions", standalone=False):
    """Attribution maps ``(n, H, W)``, as drawn; ``n``/``hw`` None if unknown.

    ``standalone``: nothing to match (complexity metrics), so maps of another
    number or size are valid.
    """

    def draw(strategy, what):
        return data.draw(strategy, label=f"{name} {what}")

    n = n or 1
    hw = (6, 6) if hw is None else hw
    rng = np.random.default_rng(draw(st.integers(0, 2**16), "seed"))
    kind = draw(st.sampled_from(ATTRIBUTION_KINDS), "kind")
    shape = (n, *hw)
    if kind == "uniform":
        a = rng.random(shape)
    elif kind == "sparse":
        a = rng.standard_normal(shape) * (rng.random(shape) < 0.2)
    elif kind == "constant":
        a = np.full(shape, rng.standard_normal())
    elif kind == "zero":
        a = np.zeros(shape)
    elif kind == "ties":
        a = rng.integers(0, 2, shape).astype(np.float64)
    elif kind == "one-constant":
        a = rng.standard_normal(shape)
        if n:
            a[0] = 0.25
    elif kind == "huge":
        a = rng.standard_normal(shape) * 1e200
    elif kind == "tiny":
        a = rng.standard_normal(shape) * 1e-300
    else:
        a = rng.standard_normal(shape)
    dtype = draw(st.sampled_from(DTYPES), "dtype")
    if dtype == "bool":
        a = a > 0
    elif dtype.startswith(("uint", "int")):
        info = np.iinfo(dtype)
        with np.errstate(invalid="ignore"):  # int64's max rounds up as a float
            a = np.clip(np.rint(a * 10), info.min, info.max).astype(dtype)
    else:
        with np.errstate(over="ignore"):
            a = a.astype(dtype)
    bad = None
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = f"{dtype} {name} that overflow to inf"
    constant = _constant_maps(a) if a.size else np.zeros(len(a), dtype=bool)
    mutation = draw(st.sampled_from(ATTRIBUTION_MUTATIONS), "mutation")
    if mutation in ("nan", "inf") and a.size:
        a = np.array(a, dtype=np.float64, order="C")
        a.reshape(-1)[draw(st.integers(0, a.size - 1), "bad pixel")] = float(mutation)
        bad = f"{name} with {mutation}"
    elif mutation == "wrong-n":
        a, bad = np.concatenate([a, a[:1]]), f"{name} for n + 1 images"
    elif mutation == "wrong-size":
        a, bad = a[:, :, :-1], f"{name} of another size"
    elif mutation == "2-d":
        a, bad = a.reshape(len(a), -1), f"2-D {name}"
    elif mutation == "4-d":
        a, bad = a[..., np.newaxis], f"4-D {name}"
    elif mutation == "empty":
        a, bad = a[:0], f"empty {name}"
    elif mutation == "strings":
        a, bad = a.astype(str), f"{name} of strings"
    layout = draw(
        st.sampled_from(["c", "c", "reversed", "read-only", "strided", "fortran"]),
        "layout",
    )
    if a.ndim == 3 and len(a):
        a = _layout(a, layout)
    if mutation == "list":
        a = a.tolist()
    if standalone and mutation in ("wrong-n", "wrong-size"):
        bad = None if np.asarray(a).size else f"{name} of no pixels"
        constant = _constant_maps(np.asarray(a))
    return Arg(a, bad, n=n, hw=hw, mutation=mutation), constant


def _constant_maps(a):
    """The documented rule: ``max - min <= 1e-6 * max|a| + 1e-12`` per map."""
    flat = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    if flat.size == 0:
        return np.zeros(len(flat), dtype=bool)
    hi, lo = flat.max(axis=1), flat.min(axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        return hi - lo <= 1e-6 * np.maximum(np.abs(hi), np.abs(lo)) + 1e-12


MASK_KINDS = ["bool", "bool", "int01", "list", "full", "one-empty", "twos", "half"]
MASK_KINDS += ["wrong-shape"]


def draw_masks(data, n, hw, *, full_ok=True):
    n = n or 1
    hw = (6, 6) if hw is None else hw
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="masks seed"))
    kind = data.draw(st.sampled_from(MASK_KINDS), label="masks kind")
    m = rng.random((n, *hw)) < 0.3
    m.reshape(n, -1)[:, 0] = True  # never empty
    m.reshape(n, -1)[:, -1] = False  # never full
    if kind == "int01":
        return Arg(m.astype(np.int64))
    if kind == "list":
        return Arg(m.tolist())
    if kind == "full":
        return Arg(np.ones_like(m), None if full_ok else "masks that cover the image")
    if kind == "one-empty":
        m[0] = False
        return Arg(m, "an empty mask")
    if kind == "twos":
        return Arg(m * 2, "masks with the value 2")
    if kind == "half":
        return Arg(m * 0.5, "masks with the value 0.5")
    if kind == "wrong-shape":
        return Arg(m[:, :, :-1], "masks of another shape", mutation="wrong-shape")
    return Arg(m)


def draw_domain(data, names):
    return domain(data.draw(st.sampled_from(sorted(names)), label="domain"))


def first_bad(*args):
    for arg in args:
        if arg is not None and arg.bad is not None:
            return arg.bad
    return None


# -- result checks ---------------------------------------------------------------------


def _finite(array, what):
    array = np.asarray(array)
    if array.dtype.kind in "fc":
        assert np.isfinite(array).all(), f"{what} holds NaN or inf: {array}"


def check_maps(n, hw, *, flat=False):
    def check(result, caught):
        assert isinstance(result, np.ndarray), _describe(result)
        assert result.dtype == np.float32, result.dtype
        expected = (n, hw[0] * hw[1]) if flat else (n, *hw)
        assert result.shape == expected, (result.shape, expected)
        _finite(result, "attributions")

    return check


def check_batch(n, *, ndim=None, dtype_kind="fiub", hw=None):
    def check(result, caught):
        assert isinstance(result, np.ndarray), _describe(result)
        assert result.dtype.kind in dtype_kind, result.dtype
        assert len(result) == n, (result.shape, n)
        if ndim is not None:
            assert result.ndim == ndim, (result.shape, ndim)
        if hw is not None:
            assert tuple(result.shape[1:3]) == tuple(hw), (result.shape, hw)
        _finite(result, "the result")

    return check


def check_proba(n, n_classes):
    def check(result, caught):
        assert isinstance(result, np.ndarray), _describe(result)
        assert result.shape == (n, n_classes), (result.shape, (n, n_classes))
        assert result.dtype.kind == "f", result.dtype
        _finite(result, "probabilities")
        assert (result >= 0).all() and (result <= 1 + 1e-6).all()
        np.testing.assert_allclose(result.sum(axis=1), 1, rtol=1e-4)

    return check


def check_labels(n, classes):
    def check(result, caught):
        assert isinstance(result, np.ndarray), _describe(result)
        assert result.shape == (n,), (result.shape, n)
        assert np.isin(result, np.asarray(classes)).all(), (result, classes)

    return check


def check_score(low=0.0, high=1.0):
    def check(result, caught):
        assert isinstance(result, (float, np.floating)), _describe(result)
        assert np.isfinite(result), result
        assert low <= result <= high, result

    return check


def _degenerate_warned(caught):
    from sklearn_xai.metrics import DegenerateExplanationWarning

    return any(issubclass(w.category, DegenerateExplanationWarning) for w in caught)


def check_scores(n, constant=None, *, low=-np.inf, high=np.inf, other_nan=None):
    """Per-image float64 scores; NaN only for constant maps, with the warning.

    ``constant``: which maps are constant (None: unknown, then NaN needs the
    warning). ``other_nan``: a documented reason for NaN elsewhere.
    """

    def check(result, caught):
        assert isinstance(result, np.ndarray), _describe(result)
        assert result.shape == (n,), (result.shape, n)
        assert result.dtype == np.float64, result.dtype
        assert not np.isinf(result).any(), f"infinite scores: {result}"
        nan = np.isnan(result)
        if constant is not None:
            assert not (constant & ~nan).any(), f"constant maps scored {result}"
            unexplained = nan & ~constant
            if unexplained.any() and other_nan is None:
                raise AssertionError(f"NaN scores of non-constant maps: {result}")
            if constant.any():
                assert _degenerate_warned(caught), "no DegenerateExplanationWarning"
        elif nan.any():
            assert other_nan or _degenerate_warned(caught), f"NaN scores: {result}"
        finite = result[~nan]
        assert ((finite >= low - 1e-9) & (finite <= high + 1e-9)).all(), result

    return check


# -- adapters: estimator methods -------------------------------------------------------


@dataclass
class Spec:
    """How to build an estimator of a public class, and what it returns."""

    make: Any  # (domain, data or None) -> unfitted estimator
    domains: tuple
    kind: str  # "explainer", "transformer", "classifier", "surrogate", ...
    needs_y: bool = False
    checks_y: bool = False  # y is ignored but must be one label per image
    strict: bool = True  # later calls need the fitted image size
    weight: float = 1.0  # share of the profile's max_examples


@functools.cache
def fitted(qualclass, domain_name):
    """A fitted estimator of ``qualclass`` on ``domain_name``, built once."""
    spec = SPECS[qualclass]
    dom = domain(domain_name)
    est = spec.make(dom, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(dom.X[:24], dom.y[:24])


def _estimator_adapter(qualclass, method):
    spec = SPECS[qualclass]

    def adapter(data):
        dom = draw_domain(data, spec.domains)
        if method in ("fit", "fit_transform", "partial_fit"):
            return _fit_case(spec, dom, data, method)
        est = fitted(qualclass, dom.name)
        return _method_case(spec, est, dom, data, method)

    adapter.weight = spec.weight
    return adapter


def _fit_case(spec, dom, data, method):
    est = spec.make(dom, data)
    X = draw_images(data, dom, strict=False, flat="rows")
    y = draw_labels(data, dom.classes, X.n, name="y", unknown_ok=True)
    if not spec.needs_y and y.bad == "y=None":
        y.bad = None
    kwargs = {}
    if method == "partial_fit":
        kwargs["classes"] = dom.classes
    names = ("X", "y", *_param_names(est))
    # A frozen model is not fitted: y is ignored unless the method needs it.
    bad = first_bad(X, y if spec.needs_y else None)
    if spec.checks_y and y.value is not None and bad is None:
        if np.ndim(y.value) == 0 or len(y.value) != X.n:
            bad = "y of another length than X"

    def call():
        return getattr(est, method)(X.value, y.value, **kwargs)

    if method == "fit_transform":
        check = _output_check(spec, dom, "fit_transform", X, est)
    else:

        def check(result, caught):
            assert result is est, f"{method} returned {type(result).__name__}"

    return Case(call, check, names, bad)


def _method_case(spec, est, dom, data, method):
    if method == "inverse_transform":
        X = _transformed_input(spec, est, dom, data)
    else:
        X = draw_images(data, dom, strict=spec.strict, flat="fitted")
    names = ("X", *_param_names(est))
    args, kwargs, others = [X.value], {}, []
    if method == "explain":
        target = draw_labels(data, dom.classes, X.n, name="target")
        details = data.draw(st.booleans(), label="return_details")
        kwargs = {"target": target.value, "return_details": details}
        names += ("target",)
        others.append(target)
    elif method == "score":
        y = draw_labels(data, dom.classes, X.n, name="y", unknown_ok=True)
        if spec.kind == "surrogate":
            y.bad = None  # ignored (documented): fidelity to the black box
        if spec.kind != "surrogate" and y.value is None:
            y.bad = "y=None"
        args.append(y.value)
        names += ("y",)
        others.append(y)
    bad = first_bad(X, *others)

    def call():
        return getattr(est, method)(*args, **kwargs)

    check = _output_check(spec, dom, method, X, est, kwargs)
    return Case(call, check, names, bad)


def _param_names(est):
    """Parameter names of ``est`` and of the estimators it holds."""
    return tuple({key.rsplit("__", 1)[-1] for key in est.get_params(deep=True)})


def _transformed_input(spec, est, dom, data):
    """Input of inverse_transform: the output of transform on drawn images."""
    X = draw_images(data, dom, strict=spec.strict, flat="fitted")
    if X.bad is not None:
        return X
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = est.transform(X.value)
    except (ValueError, TypeError):
        return Arg(np.full((1, 2, 2), np.nan), "NaN input", n=1)
    mutation = data.draw(
        st.sampled_from([None, None, None, "nan", "columns", "read-only"]),
        label="Xt mutation",
    )
    out = np.array(out, order="C")
    if mutation == "nan" and out.dtype.kind == "f":
        out.reshape(-1)[0] = np.nan
        return Arg(out, "Xt with NaN", n=len(out))
    if mutation == "columns":
        # Images of another size are valid input of image transformers.
        why = "Xt with a missing column" if out.ndim == 2 else None
        return Arg(out[..., :-1], why, n=len(out), ndim=out.ndim)
    if mutation == "read-only":
        out.flags.writeable = False
    return Arg(out, None, n=len(out), ndim=out.ndim)


def _output_check(spec, dom, method, X, est, kwargs=None):
    n = X.n
    if spec.kind == "explainer":
        hw = dom.hw if method != "fit_transform" else X.hw
        if method == "explain":
            maps = check_maps(n, hw)
            if not (kwargs or {}).get("return_details"):
                return maps

            def check(result, caught):
                assert isinstance(result, tuple) and len(result) == 2
                maps(result[0], caught)
                assert len(result[1].targets) == n
                assert np.isin(result[1].targets, dom.classes).all()

            return check
        if hw is None:
            return check_batch(n, ndim=2, dtype_kind="f")
        return check_maps(n, hw, flat=True)
    if spec.kind == "classifier":
        if method == "predict_proba":
            return check_proba(n, len(dom.classes))
        if method == "predict":
            return check_labels(n, dom.classes)
        if method == "score":
            return check_score()
    if spec.kind == "surrogate":
        if method == "predict":
            return check_labels(n, dom.classes)
        if method == "predict_proba":
            return check_proba(n, len(dom.classes))
        if method == "score":
            return check_score()
        return check_batch(n, ndim=2)
    if spec.kind == "features":
        return check_batch(n, ndim=2, dtype_kind="f")
    if spec.kind == "selector":
        return check_batch(n, ndim=2)
    if spec.kind == "segmenter":
        return check_batch(n, dtype_kind="iu", hw=X.hw if X.ndim != 2 else None)
    if spec.kind == "flattener" and method != "inverse_transform":
        return check_batch(n, ndim=2)
    if method == "inverse_transform":
        return check_batch(n)
    # Image transformers hand back the caller's layout (gray may gain channels).
    return check_batch(n, ndim=None if X.ndim == 3 else X.ndim)


def _specs():
    from sklearn_xai import attribution as A
    from sklearn_xai import feature_selection as F
    from sklearn_xai import neural_network as N
    from sklearn_xai import preprocessing as P
    from sklearn_xai import surrogate as S

    def draw(data, strategy, label, default):
        return default if data is None else data.draw(strategy, label=label)

    perturbation = ("lr6", "rgb8")
    gradient = ("cnn8", "rgb8")
    specs = {
        "attribution.LimeExplainer": Spec(
            lambda d, _: A.LimeExplainer(
                frozen(d), segmentation="grid", n_samples=24, random_state=0
            ),
            perturbation,
            "explainer",
        ),
        "attribution.KernelShapExplainer": Spec(
            lambda d, _: A.KernelShapExplainer(
                frozen(d), segmentation="grid", n_samples=24, random_state=0
            ),
            perturbation,
            "explainer",
        ),
        "attribution.OcclusionExplainer": Spec(
            lambda d, _: A.OcclusionExplainer(frozen(d), window=2, stride=2),
            perturbation,
            "explainer",
        ),
        "attribution.RISEExplainer": Spec(
            lambda d, _: A.RISEExplainer(
                frozen(d), n_masks=16, mask_size=2, random_state=0
            ),
            perturbation,
            "explainer",
        ),
        "attribution.SaliencyExplainer": Spec(
            lambda d, _: A.SaliencyExplainer(frozen(d), batch_size=2),
            gradient,
            "explainer",
        ),
        "attribution.IntegratedGradientsExplainer": Spec(
            lambda d, _: A.IntegratedGradientsExplainer(
                frozen(d), n_steps=4, batch_size=2
            ),
            gradient,
            "explainer",
        ),
        "attribution.GradCAMExplainer": Spec(
            lambda d, _: A.GradCAMExplainer(frozen(d), batch_size=2),
            gradient,
            "explainer",
        ),
        "attribution.GradCAMPlusPlusExplainer": Spec(
            lambda d, _: A.GradCAMPlusPlusExplainer(frozen(d), batch_size=2),
            gradient,
            "explainer",
        ),
        "attribution.ScoreCAMExplainer": Spec(
            lambda d, _: A.ScoreCAMExplainer(frozen(d), batch_size=2),
            gradient,
            "explainer",
        ),
        "attribution.CaptumExplainer": Spec(
            lambda d, data: A.CaptumExplainer(
                frozen(d),
                method=draw(
                    data,
                    st.sampled_from(["Saliency", "InputXGradient"]),
                    "method",
                    "InputXGradient",
                ),
                batch_size=2,
            ),
            gradient,
            "explainer",
        ),
        "attribution.SmoothGradExplainer": Spec(
            lambda d, _: A.SmoothGradExplainer(
                A.SaliencyExplainer(frozen(d), batch_size=2),
                n_samples=3,
                random_state=0,
            ),
            gradient,
            "explainer",
        ),
        "neural_network.CNNClassifier": Spec(
            lambda d, _: N.CNNClassifier(
                max_epochs=1, batch_size=8, lr=0.01, random_state=0
            ),
            ("cnn8",),
            "classifier",
            needs_y=True,
            weight=0.6,
        ),
        "neural_network.TorchClassifier": Spec(
            lambda d, _: N.TorchClassifier(_rgb_network(), classes=["a", "b", "c"]),
            ("rgb8",),
            "classifier",
            checks_y=True,
        ),
        "neural_network.OnnxClassifier": Spec(
            lambda d, _: N.OnnxClassifier(d.model.path, classes=["a", "b", "c"]),
            ("onnx8",),
            "classifier",
            checks_y=True,
        ),
        "preprocessing.ColorConverter": Spec(
            lambda d, data: P.ColorConverter(
                to=draw(
                    data, st.sampled_from(["gray", "rgb", "hsv", "lab"]), "to", "hsv"
                )
            ),
            ("rgb8", "lr6"),
            "transformer",
            strict=False,
        ),
        "preprocessing.HistogramEqualizer": Spec(
            lambda d, _: P.HistogramEqualizer(tile_grid_size=(2, 2)),
            ("rgb8", "lr6"),
            "transformer",
            strict=False,
        ),
        "preprocessing.ImageDenoiser": Spec(
            lambda d, data: P.ImageDenoiser(
                method=draw(
                    data,
                    st.sampled_from(["gaussian", "median", "bilateral", "nl_means"]),
                    "method",
                    "median",
                )
            ),
            ("rgb8", "lr6"),
            "transformer",
            strict=False,
        ),
        "preprocessing.ImageFlattener": Spec(
            lambda d, _: P.ImageFlattener(),
            ("rgb8", "lr6"),
            "flattener",
        ),
        "preprocessing.ImageNormalizer": Spec(
            lambda d, _: P.ImageNormalizer(),
            ("rgb8", "lr6"),
            "transformer",
            strict=False,
        ),
        "preprocessing.ImageResizer": Spec(
            lambda d, data: P.ImageResizer(
                size=draw(data, st.sampled_from([4, (3, 5), 12]), "size", 4)
            ),
            ("rgb8", "lr6"),
            "transformer",
            strict=False,
        ),
        "preprocessing.SuperpixelSegmenter": Spec(
            lambda d, data: P.SuperpixelSegmenter(
                method=draw(
                    data,
                    st.sampled_from(["slic", "grid", "felzenszwalb", "quickshift"]),
                    "method",
                    "grid",
                ),
                n_segments=4,
                random_state=0,
            ),
            ("rgb8", "lr6"),
            "segmenter",
            strict=False,
        ),
        "surrogate.GridFeatures": Spec(
            lambda d, _: S.GridFeatures(grid_size=2), ("rgb8", "lr6"), "features"
        ),
        "surrogate.SuperpixelFeatures": Spec(
            lambda d, _: S.SuperpixelFeatures(n_segments=4),
            ("rgb8", "lr6"),
            "features",
        ),
        "surrogate.SurrogateClassifier": Spec(
            lambda d, _: S.SurrogateClassifier(frozen(d), grid_size=2, random_state=0),
            ("lr6", "cnn8"),
            "surrogate",
        ),
        "surrogate.SurrogateTreeClassifier": Spec(
            lambda d, _: S.SurrogateTreeClassifier(
                frozen(d), grid_size=2, max_depth=3, random_state=0
            ),
            ("lr6", "cnn8"),
            "surrogate",
        ),
        "feature_selection.SelectFromAttributions": Spec(
            lambda d, _: F.SelectFromAttributions(
                A.OcclusionExplainer(frozen(d), window=2, stride=2), max_features=8
            ),
            ("lr6", "rgb8"),
            "selector",
        ),
    }
    return specs


SPECS = _specs()


# -- adapters: other methods of the classes --------------------------------------------


def _feature_names_adapter(qualclass):
    spec = SPECS[qualclass]

    def adapter(data):
        dom = draw_domain(data, spec.domains)
        est = fitted(qualclass, dom.name)
        n_in = est.n_features_in_
        kind = data.draw(
            st.sampled_from(["none", "names", "wrong-length", "ints", "2-d"]),
            label="input_features",
        )
        value, bad = None, None
        if kind == "names":
            value = [f"x{i}" for i in range(n_in)]
        elif kind == "wrong-length":
            value, bad = [f"x{i}" for i in range(n_in + 1)], "wrong length"
        elif kind == "ints":
            value = list(range(n_in))
        elif kind == "2-d":
            value, bad = np.array([[f"x{i}" for i in range(n_in)]]), "2-D names"
        if spec.kind == "features":
            bad = None  # input_features is ignored (documented)

        def check(result, caught):
            assert isinstance(result, np.ndarray) and result.ndim == 1
            assert result.dtype == object
            if kind in ("none", "names"):
                assert all(isinstance(s, str) for s in result)

        return Case(
            lambda: est.get_feature_names_out(value),
            check,
            ("input_features",),
            bad,
        )

    return adapter


def _get_support_adapter(data):
    dom = draw_domain(data, SPECS["feature_selection.SelectFromAttributions"].domains)
    est = fitted("feature_selection.SelectFromAttributions", dom.name)
    indices = data.draw(st.sampled_from([False, True, 0, 1]), label="indices")
    kept = 8 * dom.image_shape[-1] if len(dom.image_shape) == 3 else 8

    def check(result, caught):
        assert isinstance(result, np.ndarray) and result.ndim == 1
        if indices:
            assert result.dtype.kind == "i" and len(result) == kept, result
        else:
            assert result.dtype == bool and result.sum() == kept, result

    return Case(lambda: est.get_support(indices), check, ("indices",))


def _importance_image_adapter(qualclass):
    def adapter(data):
        dom = draw_domain(data, SPECS[qualclass].domains)
        est = fitted(qualclass, dom.name)

        def check(result, caught):
            assert isinstance(result, np.ndarray)
            assert result.shape[:2] == dom.hw, result.shape
            _finite(result, "importance_image")

        return Case(est.importance_image, check, ())

    adapter.weight = 0.3
    return adapter


def _export_text_adapter(data):
    dom = draw_domain(data, SPECS["surrogate.SurrogateTreeClassifier"].domains)
    est = fitted("surrogate.SurrogateTreeClassifier", dom.name)
    kwargs = data.draw(
        st.sampled_from(
            [{}, {"max_depth": 1}, {"decimals": 0}, {"max_depth": -1}, {"spacing": 0}]
        ),
        label="kwargs",
    )

    def check(result, caught):
        assert isinstance(result, str) and result

    return Case(
        lambda: est.export_text(**kwargs), check, ("max_depth", "spacing", "decimals")
    )


def draw_one_image(data, dom, *, name="image", strict=True, flat_ok=False):
    """One image ``(H, W[, C])`` (from a drawn batch), or a bad one.

    ``flat_ok``: a flattened image ``(H * W * C,)`` is valid.
    """
    batch = draw_images(data, dom, name=name, strict=strict, flat=None, n_max=1)
    value = batch.value
    if isinstance(value, list):
        value = np.asarray(value)
    if batch.bad is None and getattr(value, "ndim", 0) in (3, 4):
        return Arg(value[0], None, hw=batch.hw)
    if flat_ok and batch.mutation == "1-d" and len(batch.idx) == 1:
        return Arg(value, None, hw=dom.hw)
    bad = batch.bad or "a batch instead of one image"
    return Arg(value, bad)


def _plot_tree_adapter(data):
    dom = draw_domain(data, SPECS["surrogate.SurrogateTreeClassifier"].domains)
    est = fitted("surrogate.SurrogateTreeClassifier", dom.name)
    image = draw_one_image(data, dom, name="reference_image", flat_ok=True)
    if data.draw(st.booleans(), label="reference_image=None"):
        image = Arg(None)

    def check(result, caught):
        assert result is not None

    return Case(
        lambda: est.plot_tree(image.value, max_depth=2),
        check,
        ("reference_image", "image"),
        image.bad,
    )


_plot_tree_adapter.weight = 0.3


# -- adapters: metrics -----------------------------------------------------------------

FAITHFULNESS = {
    "deletion_auc",
    "insertion_auc",
    "deletion_curve",
    "insertion_curve",
    "pixel_flipping",
    "faithfulness_correlation",
    "infidelity",
}
COMPLEXITY = {"sparseness", "complexity", "effective_complexity"}
LOCALIZATION = {
    "pointing_game",
    "relevance_mass_accuracy",
    "relevance_rank_accuracy",
    "top_k_intersection",
    "attribution_localization_auc",
}
ROBUSTNESS = {"max_sensitivity", "avg_sensitivity", "local_lipschitz_estimate"}
RANDOMIZATION = {"model_parameter_randomization", "random_logit"}


def _metric(name):
    from sklearn_xai import metrics

    return getattr(metrics, name)


def _faithfulness_adapter(name):
    def adapter(data):
        func = _metric(name)
        dom = draw_domain(data, ("lr6", "cnn8", "rgb8"))
        X = draw_images(data, dom, strict=False, flat="fitted")
        kwargs = {"batch_size": data.draw(st.sampled_from([2, 64]), label="batch")}
        if X.ndim == 2:
            if data.draw(st.booleans(), label="pass image_shape"):
                kwargs["image_shape"] = dom.image_shape
            else:
                X.hw = (1, int(np.prod(dom.image_shape)))
        attributions, constant = draw_attributions(data, X.n, X.hw)
        targets = draw_labels(data, dom.classes, X.n, name="targets")
        kwargs["targets"] = targets.value
        baseline = data.draw(
            st.sampled_from(["black", "mean", "blur", 0.5, -1.0]), label="baseline"
        )
        if name in ("deletion_auc", "insertion_auc", "deletion_curve"):
            kwargs["n_steps"] = data.draw(st.sampled_from([None, 1, 3]), label="steps")
        if name == "insertion_curve":
            kwargs["n_steps"] = data.draw(st.sampled_from([None, 2]), label="steps")
        if name == "pixel_flipping":
            kwargs["region_size"] = data.draw(st.sampled_from([1, 2]), label="region")
            kwargs["n_regions"] = data.draw(st.sampled_from([None, 3]), label="nreg")
            kwargs["return_curve"] = data.draw(st.booleans(), label="return_curve")
        if name == "faithfulness_correlation":
            kwargs.update(n_runs=4, random_state=0)
            kwargs["subset_size"] = data.draw(
                st.sampled_from([0.1, 0.5, 2]), label="subset_size"
            )
        if name == "infidelity":
            kwargs.update(n_perturbations=4, random_state=0)
            kwargs["normalize"] = data.draw(st.booleans(), label="normalize")
        if name != "infidelity":
            kwargs["baseline"] = baseline
        bad = first_bad(X, attributions, targets)
        n = X.n
        if X.bad is None and attributions.bad is None:
            constant = constant[: n or 0]
        other_nan = None
        if name == "faithfulness_correlation":
            other_nan = "the model ignores the removals (documented)"
        bounds = {"low": 0.0, "high": 1.0} if name.endswith("auc") else {}

        if name.endswith("curve") or kwargs.get("return_curve"):

            def check(result, caught):
                key = "aopc" if name == "pixel_flipping" else None
                scores = np.asarray(result.scores)
                assert scores.ndim == 2 and len(scores) == n, scores.shape
                rows = np.isnan(scores).any(axis=1)
                assert (rows == constant).all(), (scores, constant)
                _finite(scores[~rows], "curve scores")
                if key:
                    check_scores(n, constant)(result.aopc, caught)
                else:
                    fractions = np.asarray(result.fractions)
                    assert fractions[0] == 0 and fractions[-1] == 1
                    assert (np.diff(fractions) >= 0).all()
                    assert scores.shape[1] == len(fractions)
                if constant.any():
                    assert _degenerate_warned(caught)

        else:
            check_one = check_scores(n, constant, other_nan=other_nan, **bounds)

            def check(result, caught):
                if isinstance(result, tuple):
                    check_one(result[0], caught)
                else:
                    check_one(result, caught)

        names = ("X", "attributions", "targets", "image_shape", *kwargs)
        return Case(
            lambda: func(dom.model, X.value, attributions.value, **kwargs),
            check,
            names,
            bad,
        )

    return adapter


def _complexity_adapter(name):
    def adapter(data):
        func = _metric(name)
        n = data.draw(st.integers(1, 4), label="n")
        hw = data.draw(st.sampled_from([(6, 6), (1, 5), (8, 3), (1, 1)]), label="hw")
        attributions, constant = draw_attributions(data, n, hw, standalone=True)
        n = len(attributions.value)
        kwargs = {}
        if name == "effective_complexity":
            kwargs["eps"] = data.draw(st.sampled_from([1e-5, 0.5, 0.0]), label="eps")
            kwargs["normalize"] = data.draw(st.booleans(), label="normalize")
        bounds = {"low": 0.0}
        if name == "sparseness":
            bounds["high"] = 1.0
        return Case(
            lambda: func(attributions.value, **kwargs),
            check_scores(n, constant, **bounds),
            ("attributions", *kwargs),
            attributions.bad,
        )

    adapter.weight = 1.5
    return adapter


def _localization_adapter(name):
    def adapter(data):
        func = _metric(name)
        n = data.draw(st.integers(1, 4), label="n")
        hw = data.draw(st.sampled_from([(6, 6), (2, 5), (8, 3)]), label="hw")
        attributions, constant = draw_attributions(data, n, hw)
        masks = draw_masks(data, n, hw, full_ok=name != "attribution_localization_auc")
        sign = data.draw(
            st.sampled_from(["signed", "absolute", "positive"]), label="sign"
        )
        kwargs = {"sign": sign}
        if name == "top_k_intersection":
            kwargs["k"] = data.draw(st.sampled_from([1, 3, 6]), label="k")
        if name == "pointing_game":
            kwargs["tolerance"] = data.draw(st.sampled_from([0, 1]), label="tol")
        same = np.shape(attributions.value) == np.shape(masks.value)
        if attributions.mutation in ("wrong-n", "wrong-size"):
            attributions.bad = None if same else "attributions and masks differ"
            constant = _constant_maps(np.asarray(attributions.value))
        if masks.mutation == "wrong-shape" and same:
            masks.bad = None
        bad = first_bad(attributions, masks)
        bounds = {"low": 0.0, "high": 1.0}
        if name == "relevance_mass_accuracy" and sign == "signed":
            bounds = {}  # documented in [0, 1] for "positive" and "absolute"
        return Case(
            lambda: func(attributions.value, masks.value, **kwargs),
            check_scores(len(np.asarray(attributions.value)), constant, **bounds),
            ("attributions", "masks", *kwargs),
            bad,
        )

    adapter.weight = 1.5
    return adapter


#: Fitted explainers the robustness and randomization metrics re-run.
METRIC_EXPLAINERS = {
    "saliency-cnn8": ("attribution.SaliencyExplainer", "cnn8"),
    "gradcam-rgb8": ("attribution.GradCAMExplainer", "rgb8"),
    "occlusion-lr6": ("attribution.OcclusionExplainer", "lr6"),
}


def _robustness_adapter(name):
    def adapter(data):
        func = _metric(name)
        which = data.draw(st.sampled_from(sorted(METRIC_EXPLAINERS)), label="expl")
        qualclass, dom_name = METRIC_EXPLAINERS[which]
        explainer, dom = fitted(qualclass, dom_name), domain(dom_name)
        X = draw_images(data, dom, strict=True, flat="fitted")
        targets = draw_labels(data, dom.classes, X.n, name="targets")
        kwargs = {"targets": targets.value, "n_samples": 2, "random_state": 0}
        kwargs["return_std"] = data.draw(st.booleans(), label="return_std")
        if name == "local_lipschitz_estimate":
            kwargs["noise"] = data.draw(
                st.sampled_from(["uniform", "gaussian"]), label="noise"
            )
        check_one = check_scores(X.n, None, low=0.0)

        def check(result, caught):
            if kwargs["return_std"]:
                assert isinstance(result, tuple) and len(result) == 2
                check_one(result[0], caught)
                check_one(result[1], caught)
            else:
                check_one(result, caught)

        return Case(
            lambda: func(explainer, X.value, **kwargs),
            check,
            ("X", "targets", "explainer", *kwargs),
            first_bad(X, targets),
        )

    adapter.weight = 0.6
    return adapter


def _randomization_adapter(name):
    def adapter(data):
        func = _metric(name)
        which = data.draw(
            st.sampled_from(["saliency-cnn8", "gradcam-rgb8"]), label="expl"
        )
        qualclass, dom_name = METRIC_EXPLAINERS[which]
        explainer, dom = fitted(qualclass, dom_name), domain(dom_name)
        X = draw_images(data, dom, strict=True, flat="fitted")
        targets = draw_labels(data, dom.classes, X.n, name="targets")
        kwargs = {"targets": targets.value, "random_state": 0}
        similarity = data.draw(st.sampled_from(["spearman", "ssim"]), label="sim")
        if name == "model_parameter_randomization":
            kwargs["similarity"] = similarity
            kwargs["order"] = data.draw(
                st.sampled_from(["cascading", "independent"]), label="order"
            )
        elif similarity == "spearman":
            kwargs["similarity"] = "ssim"
        check_one = check_scores(X.n, None, low=-1.0, high=1.0)

        def check(result, caught):
            if name == "random_logit":
                check_one(result, caught)
                return
            check_one(result.mean, caught)
            scores = np.asarray(result.scores)
            assert scores.shape == (len(result.layers), X.n), scores.shape

        return Case(
            lambda: func(explainer, X.value, **kwargs),
            check,
            ("X", "targets", "explainer", *kwargs),
            first_bad(X, targets),
        )

    adapter.weight = 0.5
    return adapter


def _scorer_call(data, scorer, metric_name):
    """A scorer called on a fitted explainer and drawn images (and masks)."""
    which = data.draw(st.sampled_from(sorted(METRIC_EXPLAINERS)), label="expl")
    qualclass, dom_name = METRIC_EXPLAINERS[which]
    explainer, dom = fitted(qualclass, dom_name), domain(dom_name)
    X = draw_images(data, dom, strict=True, flat="fitted", n_max=2)
    y = draw_labels(data, dom.classes, X.n, name="y")
    kwargs = {}
    bad = first_bad(X, y if scorer._target == "true" else None)
    if scorer._target == "true" and y.value is None:
        bad = bad or "target='true' without y"
    if metric_name in LOCALIZATION:
        masks = draw_masks(data, X.n, dom.hw)
        kwargs["masks"] = masks.value
        bad = bad or masks.bad
    names = ("X", "y", "masks", "explainer", "target", "targets", metric_name)
    return Case(
        lambda: scorer(explainer, X.value, y.value, **kwargs),
        check_score(-np.inf, np.inf),
        names,
        bad,
    )


#: Cheap settings for the scorers' metrics.
SCORER_KWARGS = {
    "faithfulness_correlation": {"n_runs": 4, "random_state": 0},
    "infidelity": {"n_perturbations": 4, "random_state": 0},
    "max_sensitivity": {"n_samples": 2, "random_state": 0},
    "avg_sensitivity": {"n_samples": 2, "random_state": 0},
    "local_lipschitz_estimate": {"n_samples": 2, "random_state": 0},
    "model_parameter_randomization": {"random_state": 0},
    "random_logit": {"random_state": 0},
}


def _make_scorer_adapter(data):
    from sklearn_xai.metrics import make_explanation_scorer

    curves = {"deletion_curve", "insertion_curve"}  # no direction: not scores
    names = sorted((FAITHFULNESS - curves) | COMPLEXITY | LOCALIZATION | ROBUSTNESS)
    name = data.draw(st.sampled_from(names), label="metric")
    target = data.draw(st.sampled_from(["predicted", "true"]), label="target")
    scorer = make_explanation_scorer(
        _metric(name), target=target, **SCORER_KWARGS.get(name, {})
    )
    return _scorer_call(data, scorer, name)


_make_scorer_adapter.weight = 1.0


def _get_scorer_adapter(data):
    from sklearn_xai.metrics import get_explanation_scorer
    from sklearn_xai.metrics._scorer import _SCORERS

    name = data.draw(
        st.sampled_from([*sorted(_SCORERS), "deletion_auc", "", "accuracy"]),
        label="name",
    )
    if name not in _SCORERS:
        return Case(
            lambda: get_explanation_scorer(name), None, ("name", "scorer"), "bad name"
        )
    scorer = get_explanation_scorer(name)
    metric = _SCORERS[name]
    if metric in RANDOMIZATION | {"faithfulness_correlation", "infidelity"}:
        # Their defaults (100 runs, every layer) are too slow here; the
        # ready-made scorer is the same object as make_explanation_scorer's.
        scorer._kwargs = dict(SCORER_KWARGS.get(metric, {}))
    if metric in ROBUSTNESS:
        scorer._kwargs = dict(SCORER_KWARGS[metric])
    return _scorer_call(data, scorer, metric)


def _scorer_names_adapter(data):
    from sklearn_xai.metrics import get_explanation_scorer_names

    def check(result, caught):
        assert isinstance(result, list) and result == sorted(result)
        assert all(isinstance(s, str) for s in result)

    return Case(get_explanation_scorer_names, check, ())


_scorer_names_adapter.weight = 0.1


# -- adapters: visualization and functions ---------------------------------------------


def _overlay_adapter(data):
    from sklearn_xai.visualization import overlay_attribution

    dom = draw_domain(data, ("lr6", "rgb8"))
    image = draw_one_image(data, dom, strict=False)
    hw = image.hw or dom.hw
    if data.draw(st.booleans(), label="map of another size"):
        hw = (hw[0] + 2, hw[1] + 1)
    attributions, _ = draw_attributions(data, 1, hw, name="attribution")
    a = attributions.value
    if attributions.mutation == "2-d" and np.isfinite(np.asarray(a, float)).all():
        attributions.bad = None  # one map (1, H * W): resized like any map
    elif attributions.bad is None:
        a = np.asarray(a)[0]
    sign = data.draw(
        st.sampled_from(["positive", "negative", "absolute", "all"]), label="sign"
    )
    percentile = data.draw(st.sampled_from([0.0, 1.0, 50.0]), label="percentile")

    def check(result, caught):
        assert isinstance(result, np.ndarray) and result.dtype == np.uint8
        assert result.shape == (*image.hw, 3), result.shape

    return Case(
        lambda: overlay_attribution(
            image.value, a, sign=sign, outlier_percentile=percentile
        ),
        check,
        ("image", "attribution"),
        first_bad(image, attributions),
    )


def _display_check(attribute):
    def check(result, caught):
        assert getattr(result, attribute) is not None

    return check


def _attribution_display_adapter(how):
    def adapter(data):
        from sklearn_xai.visualization import AttributionDisplay

        dom = draw_domain(data, ("lr6", "rgb8"))
        if how == "from_explainer":
            explainer = fitted("attribution.OcclusionExplainer", dom.name)
            X = draw_images(data, dom, strict=True, n_max=2)
            target = draw_labels(data, dom.classes, X.n, name="target")
            return Case(
                lambda: AttributionDisplay.from_explainer(
                    explainer, X.value, target=target.value
                ),
                _display_check("figure_"),
                ("X", "target", "explainer"),
                first_bad(X, target),
            )
        X = draw_images(data, dom, strict=False, flat=None, n_max=2)
        attributions, _ = draw_attributions(data, X.n, X.hw)
        if attributions.mutation == "wrong-size":
            attributions.bad = None  # maps of another size are resized (documented)
        labels = draw_labels(data, dom.classes, X.n, name="labels", unknown_ok=True)
        names = ("images", "attributions", "labels")
        bad = first_bad(X, attributions, labels)
        if how == "from_attributions":
            return Case(
                lambda: AttributionDisplay.from_attributions(
                    X.value, attributions.value, labels=labels.value
                ),
                _display_check("figure_"),
                names,
                bad,
            )

        def call():
            return AttributionDisplay(
                X.value,
                np.asarray(attributions.value)[np.newaxis],
                method_names=["m"],
                labels=labels.value,
            ).plot()

        return Case(call, _display_check("figure_"), names, bad)

    adapter.weight = 0.4
    return adapter


def _curve_display_adapter(how):
    def adapter(data):
        from sklearn_xai.visualization import FaithfulnessCurveDisplay

        dom = draw_domain(data, ("lr6", "rgb8"))
        kind = data.draw(st.sampled_from(["deletion", "insertion"]), label="kind")
        if how == "from_explainer":
            explainer = fitted("attribution.OcclusionExplainer", dom.name)
            X = draw_images(data, dom, strict=True, n_max=2)
            target = draw_labels(data, dom.classes, X.n, name="target")
            return Case(
                lambda: FaithfulnessCurveDisplay.from_explainer(
                    explainer, X.value, kind=kind, target=target.value, n_steps=4
                ),
                _display_check("figure_"),
                ("X", "target", "explainer"),
                first_bad(X, target),
            )
        if how == "from_attributions":
            X = draw_images(data, dom, strict=False, flat=None, n_max=2)
            attributions, _ = draw_attributions(data, X.n, X.hw)
            targets = draw_labels(data, dom.classes, X.n, name="targets")
            return Case(
                lambda: FaithfulnessCurveDisplay.from_attributions(
                    dom.model,
                    X.value,
                    attributions.value,
                    kind=kind,
                    targets=targets.value,
                    n_steps=4,
                ),
                _display_check("figure_"),
                ("X", "attributions", "targets"),
                first_bad(X, attributions, targets),
            )
        # plot(): a Display built from drawn curves.
        m = data.draw(st.integers(2, 6), label="points")
        fractions = np.linspace(0, 1, m)
        curve = np.random.default_rng(m).random(m)
        how_bad = data.draw(
            st.sampled_from(
                [None, None, "nan", "short", "2-d", "words", "one-point", "aucs"]
            ),
            label="curves mutation",
        )
        aucs, bad = {"m": 0.5}, None
        if how_bad == "nan":
            curve[0] = np.nan  # constant maps' curves are NaN: valid
        elif how_bad == "short":
            curve, bad = curve[:-1], "a curve shorter than fractions"
        elif how_bad == "2-d":
            curve, bad = curve[np.newaxis], "a 2-D curve"
        elif how_bad == "words":
            curve, bad = np.array(["high"] * m), "a curve of words"
        elif how_bad == "one-point":
            fractions, curve, bad = fractions[:1], curve[:1], "one fraction"
        elif how_bad == "aucs":
            aucs, bad = {"other": 0.5}, "aucs with other keys"

        def call():
            return FaithfulnessCurveDisplay(
                fractions, {"m": curve}, aucs, kind=kind
            ).plot()

        return Case(
            call, _display_check("figure_"), ("curves", "fractions", "aucs"), bad
        )

    adapter.weight = 0.4
    return adapter


def _selection_display_adapter(how):
    def adapter(data):
        from sklearn_xai.visualization import SelectionDisplay

        dom = draw_domain(data, ("lr6", "rgb8"))
        selector = fitted("feature_selection.SelectFromAttributions", dom.name)
        image = draw_one_image(data, dom, strict=True, flat_ok=how != "plot")
        if how == "from_estimator":
            return Case(
                lambda: SelectionDisplay.from_estimator(selector, image.value),
                _display_check("figure_"),
                ("image",),
                image.bad,
            )
        mask = selector.get_support().reshape(*dom.hw, -1).any(axis=-1)
        return Case(
            lambda: SelectionDisplay(image.value, mask).plot(),
            _display_check("figure_"),
            ("image", "mask"),
            image.bad,
        )

    adapter.weight = 0.4
    return adapter


def _tree_display_adapter(how):
    def adapter(data):
        from sklearn_xai.visualization import SurrogateTreeDisplay

        dom = draw_domain(data, ("lr6", "cnn8"))
        tree = fitted("surrogate.SurrogateTreeClassifier", dom.name)
        image = draw_one_image(data, dom, strict=True, flat_ok=True)
        if data.draw(st.booleans(), label="image=None"):
            image = Arg(None)
        if how == "from_estimator":
            return Case(
                lambda: SurrogateTreeDisplay.from_estimator(tree, image=image.value),
                _display_check("figure_"),
                ("image",),
                image.bad,
            )

        def call():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                display = SurrogateTreeDisplay.from_estimator(tree)
            display.image = image.value
            return display.plot()

        return Case(call, _display_check("figure_"), ("image",), image.bad)

    adapter.weight = 0.3
    return adapter


def _resolve_device_adapter(data):
    from sklearn_xai.neural_network import resolve_device

    device = data.draw(
        st.one_of(
            st.sampled_from(["cpu", "cuda", "cuda:0", "mps", "CPU", "", "gpu", None]),
            st.integers(-1, 2),
            st.text(max_size=6),
        ),
        label="device",
    )

    def check(result, caught):
        assert isinstance(result, str) and result

    return Case(lambda: resolve_device(device), check, ("device",))


_resolve_device_adapter.weight = 0.5


# -- the table -------------------------------------------------------------------------


def _public_callables():
    """``{"subpackage.name[.method]": object}`` for every public callable."""
    found = {}
    for sub in SUBPACKAGES:
        module = importlib.import_module(f"sklearn_xai.{sub}")
        for name in module.__all__:
            obj = getattr(module, name)
            qual = f"{sub}.{name}"
            if not inspect.isclass(obj):
                found[qual] = obj
                continue
            methods = [
                m
                for m in dir(obj)
                if not m.startswith("_")
                and m not in GENERIC_METHODS
                and not (m.startswith("set_") and m.endswith("_request"))
                and callable(getattr(obj, m, None))
                and (m in DATA_METHODS or _defined_here(obj, m))
            ]
            if not methods:
                found[qual] = obj
            for m in methods:
                found[f"{qual}.{m}"] = getattr(obj, m)
    return found


def _defined_here(cls, name):
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass.__module__.startswith("sklearn_xai")
    return False


def _adapters():
    table = {}
    for qualclass in SPECS:
        cls = _public_class(qualclass)
        for method in sorted(DATA_METHODS - {"get_feature_names_out", "get_support"}):
            if hasattr(cls, method):
                table[f"{qualclass}.{method}"] = _estimator_adapter(qualclass, method)
        if hasattr(cls, "get_feature_names_out"):
            table[f"{qualclass}.get_feature_names_out"] = _feature_names_adapter(
                qualclass
            )
        if hasattr(cls, "transform_features"):
            table[f"{qualclass}.transform_features"] = _estimator_adapter(
                qualclass, "transform_features"
            )
        if hasattr(cls, "importance_image"):
            table[f"{qualclass}.importance_image"] = _importance_image_adapter(
                qualclass
            )
    table["feature_selection.SelectFromAttributions.get_support"] = _get_support_adapter
    table["surrogate.SurrogateTreeClassifier.export_text"] = _export_text_adapter
    table["surrogate.SurrogateTreeClassifier.plot_tree"] = _plot_tree_adapter
    for name in FAITHFULNESS:
        table[f"metrics.{name}"] = _faithfulness_adapter(name)
    for name in COMPLEXITY:
        table[f"metrics.{name}"] = _complexity_adapter(name)
    for name in LOCALIZATION:
        table[f"metrics.{name}"] = _localization_adapter(name)
    for name in ROBUSTNESS:
        table[f"metrics.{name}"] = _robustness_adapter(name)
    for name in RANDOMIZATION:
        table[f"metrics.{name}"] = _randomization_adapter(name)
    table["metrics.make_explanation_scorer"] = _make_scorer_adapter
    table["metrics.get_explanation_scorer"] = _get_scorer_adapter
    table["metrics.get_explanation_scorer_names"] = _scorer_names_adapter
    table["neural_network.resolve_device"] = _resolve_device_adapter
    table["visualization.overlay_attribution"] = _overlay_adapter
    for how in ("from_explainer", "from_attributions", "plot"):
        table[f"visualization.AttributionDisplay.{how}"] = _attribution_display_adapter(
            how
        )
        table[f"visualization.FaithfulnessCurveDisplay.{how}"] = _curve_display_adapter(
            how
        )
    for how in ("from_estimator", "plot"):
        table[f"visualization.SelectionDisplay.{how}"] = _selection_display_adapter(how)
        table[f"visualization.SurrogateTreeDisplay.{how}"] = _tree_display_adapter(how)
    return table


def _public_class(qualclass):
    sub, name = qualclass.split(".")
    return getattr(importlib.import_module(f"sklearn_xai.{sub}"), name)


ADAPTERS = _adapters()


# -- tests -----------------------------------------------------------------------------


def test_every_public_callable_is_covered():
    public = _public_callables()
    skipped = {q for q in public if q in SKIPPED or q.rsplit(".", 1)[0] in SKIPPED}
    missing = sorted(set(public) - set(ADAPTERS) - skipped)
    assert not missing, (
        f"public callables without an adapter in ADAPTERS or a reason in "
        f"SKIPPED: {missing}"
    )
    stale = sorted(
        (set(ADAPTERS) | set(SKIPPED))
        - set(public)
        - {q.rsplit(".", 1)[0] for q in public}
    )
    assert not stale, f"entries for names that are not public: {stale}"


def _run(qualname, profile):
    adapter = ADAPTERS[qualname]
    base = settings.get_profile(profile)
    examples = max(3, round(base.max_examples * getattr(adapter, "weight", 1.0)))

    @settings(base, max_examples=examples)
    @given(data=st.data())
    def prop(data):
        run_case(qualname, adapter(data))

    prop()


@pytest.mark.parametrize("qualname", sorted(ADAPTERS))
def test_property(qualname):
    _run(qualname, "sklearn-xai-fast")


@pytest.mark.slow
@pytest.mark.parametrize(
    "qualname",
    sorted(ADAPTERS)
    if LONG
    else [
        pytest.param(
            None, marks=pytest.mark.skip(reason="set SKLEARN_XAI_HYPOTHESIS=long")
        )
    ],
)
def test_property_long(qualname):
    _run(qualname, "sklearn-xai-long")


def test_summary(record_property, capsys):
    """How many public callables the suite covers and how many inputs it ran."""
    public = _public_callables()
    covered = sorted(q for q in public if q in ADAPTERS)
    ran = sum(COUNTS.values())
    outcomes = collections.Counter()
    for (_, outcome), count in OUTCOMES.items():
        outcomes[outcome] += count
    record_property("public_callables", len(public))
    record_property("covered_callables", len(covered))
    record_property("inputs_run", ran)
    with capsys.disabled():
        print(
            f"\nproperty suite: {len(covered)} of {len(public)} public callables "
            f"covered ({len(public) - len(covered)} skipped with a reason), "
            f"{ran} generated inputs run over {len(COUNTS)} callables: "
            f"{outcomes['result']} valid results, {outcomes['error']} clear "
            f"errors, {outcomes['known fault']} known faults."
        )
    assert len(covered) + sum(
        q in SKIPPED or q.rsplit(".", 1)[0] in SKIPPED for q in public
    ) == len(public)
