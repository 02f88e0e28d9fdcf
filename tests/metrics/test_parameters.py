"""Every public metric validates every parameter declaratively, before any work.

``max_sensitivity(normalize="no")`` and ``random_logit(normalize="no")`` used
to run, normalizing (a non-empty string is truthy); each metric now declares
its parameters to scikit-learn's ``validate_params``, so a wrong type or value
is an ``InvalidParameterError`` (a ``ValueError`` and a ``TypeError``) naming
the parameter, raised before the model or the explainer is called.
"""

import inspect

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_xai import metrics

#: Parameters taken as they come: the explainer is checked for ``fit`` and
#: ``explain`` with its own message, targets against the model's classes.
UNVALIDATED = {"explainer", "targets"}

#: The metrics: everything public but the warning and the scorer factories.
PUBLIC = sorted(
    name
    for name in metrics.__all__
    if name != "DegenerateExplanationWarning"
    and not name.startswith(("get_explanation_scorer", "make_explanation_scorer"))
)


class NeverCalled:
    """A model or explainer that fails the test if the metric uses it."""

    classes_ = np.array([0, 1])

    def fit(self, *args, **kwargs):
        raise AssertionError("validation must come first")

    predict_proba = explain = fit


def valid_arguments(func):
    """Positional arguments a metric accepts (it raises before using them)."""
    values = {
        "estimator": NeverCalled(),
        "explainer": NeverCalled(),
        "X": np.zeros((2, 4, 4)),
        "attributions": np.zeros((2, 4, 4)),
        "masks": np.zeros((2, 4, 4), dtype=bool),
    }
    params = inspect.signature(func).parameters.values()
    return [values[p.name] for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]


def test_every_public_metric_is_listed():
    assert len(PUBLIC) == 20


@pytest.mark.parametrize("name", PUBLIC)
def test_every_parameter_is_validated_before_any_work(name):
    func = getattr(metrics, name)
    args = valid_arguments(func)
    params = list(inspect.signature(func).parameters)
    checked = [p for p in params if p not in UNVALIDATED]
    assert checked
    for param in checked:
        call_args = list(args)
        kwargs = {}
        if param in params[: len(args)]:
            call_args[params.index(param)] = object()
        else:
            kwargs[param] = object()
        with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of"):
            func(*call_args, **kwargs)


@pytest.mark.parametrize("name", PUBLIC)
def test_boolean_parameters_refuse_truthy_strings(name):
    func = getattr(metrics, name)
    flags = [
        p.name
        for p in inspect.signature(func).parameters.values()
        if isinstance(p.default, bool)
    ]
    for flag in flags:
        with pytest.raises(InvalidParameterError, match=f"'{flag}' parameter"):
            func(*valid_arguments(func), **{flag: "no"})


def test_one_name_for_how_signed_relevance_is_read():
    # `sign` in {"signed", "absolute", "positive"} wherever a metric lets the
    # caller choose (formerly `abs=True/False` in robustness and
    # randomization); complexity metrics always use magnitudes.
    for name in PUBLIC:
        params = inspect.signature(getattr(metrics, name)).parameters
        assert "abs" not in params, name
    with_sign = [
        name
        for name in PUBLIC
        if "sign" in inspect.signature(getattr(metrics, name)).parameters
    ]
    assert len(with_sign) == 10
