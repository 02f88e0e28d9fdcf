"""Sphinx configuration of the sklearn-xai documentation.

Build with ``make docs`` from the repository root (warnings are errors). The
API reference is generated at every build from each public subpackage's
``__all__`` (see :func:`write_api_pages`), so a name added to a subpackage
appears without editing these pages, and a subpackage that does not exist
(yet) is skipped. The command-line help printed in the user guide is also
generated, from the real argument parser.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path

# The gallery examples and the API pages import the package; make sure the
# checkout is importable even without an editable install.
DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
# Plots are drawn off screen, also when the examples run in this process.
os.environ.setdefault("MPLBACKEND", "Agg")

import sklearn_xai  # noqa: E402

# -- Project information -----------------------------------------------------

project = "sklearn-xai"
author = "sklearn-xai developers"
copyright = "sklearn-xai developers"
release = sklearn_xai.__version__
version = ".".join(release.split(".")[:2])

# -- General configuration ---------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
# Unresolved cross-references (e.g. to scikit-learn or torch, whose inventories
# are not fetched: the build runs offline) are rendered as plain text.
nitpicky = False
default_role = "literal"
# The docstrings are written for numpydoc; mathjax is referenced from its CDN
# by the browser reading the pages, the build itself fetches nothing.

# -- autodoc / autosummary / numpydoc ----------------------------------------

autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"  # the numpydoc Parameters sections say it all
# Members inherited from these classes are scikit-learn's, skorch's or
# Python's, documented there; their docstrings refer to labels of their own
# documentation, which this offline build cannot resolve.
INHERITED_MEMBERS_IGNORED = ", ".join(
    [
        "BaseEstimator",
        "ClassifierMixin",
        "MetaEstimatorMixin",
        "SelectorMixin",
        "TransformerMixin",
        "_SetOutputMixin",
        "_MetadataRequester",
        "NeuralNet",
        "NeuralNetClassifier",
        "Callback",
        "ProgressBar",
        "Module",
        "Bunch",
        "dict",
        "tuple",
        "object",
    ]
)
autosummary_context = {"inherited_members_ignored": INHERITED_MEMBERS_IGNORED}

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- HTML ----------------------------------------------------------------------

try:
    import pydata_sphinx_theme  # noqa: F401
except ImportError:  # pragma: no cover - the docs extra installs it
    html_theme = "alabaster"
else:
    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "navigation_with_keys": False,
        "show_toc_level": 2,
        "header_links_before_dropdown": 5,
    }
html_title = f"sklearn-xai {release}"
html_static_path = []
html_show_sourcelink = False

# -- sphinx-gallery --------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Every plot_*.py is executed; the build fails when one raises.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py|/_",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("sklearn_xai",),
    "reference_url": {"sklearn_xai": None},
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "abort_on_example_error": True,
    "min_reported_time": 1,
    "capture_repr": ("_repr_html_", "__repr__"),
    "plot_gallery": "True",
    "first_notebook_cell": None,
}

# -- The API reference, generated from each subpackage's __all__ ------------------

#: Public modules in the order of the reference; a subpackage added to the
#: package later is appended (see :func:`public_modules`).
API_MODULES = [
    ("sklearn_xai.base", "The explainer base class"),
    ("sklearn_xai.attribution", "Attribution explainers"),
    ("sklearn_xai.metrics", "Explanation-quality metrics and scorers"),
    ("sklearn_xai.surrogate", "Global surrogates"),
    ("sklearn_xai.feature_selection", "Feature selection by attributions"),
    ("sklearn_xai.visualization", "Visualization"),
    ("sklearn_xai.report", "The HTML report"),
    ("sklearn_xai.neural_network", "Classifiers: CNN, trained torch networks, ONNX"),
    ("sklearn_xai.preprocessing", "Image preprocessing"),
    ("sklearn_xai.datasets", "Datasets"),
    ("sklearn_xai.cli", "Command line"),
]
#: Public subpackages that are internal helpers rather than user API.
API_EXCLUDED = {"sklearn_xai.utils"}
API_DIR = DOCS / "api" / "generated"


def public_modules():
    """``[(module, title)]``: the listed ones first, then any new subpackage."""
    import pkgutil

    listed = [name for name, _ in API_MODULES]
    found = [
        f"sklearn_xai.{info.name}"
        for info in pkgutil.iter_modules(sklearn_xai.__path__)
        if info.ispkg and not info.name.startswith("_")
    ]
    extra = sorted(set(found) - set(listed) - API_EXCLUDED)
    return API_MODULES + [(name, name.rsplit(".", 1)[1]) for name in extra]


def import_public(name):
    """The module, or None when it does not exist (yet).

    A folder without ``__init__.py`` (a subpackage being written) imports as
    a namespace package: it is skipped too, as is a module without
    ``__all__``.
    """
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            # The module itself is missing (not one of its dependencies).
            return None
        raise
    if getattr(module, "__file__", None) is None or not hasattr(module, "__all__"):
        return None
    return module


def _write_if_changed(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _autosummary(names, template):
    lines = [
        ".. autosummary::",
        "   :toctree: .",
        f"   :template: {template}",
        "   :nosignatures:",
        "",
    ]
    return "\n".join(lines + [f"   {name}" for name in names]) + "\n"


def module_page(module, title):
    """The reST of one module's reference page, from its ``__all__``."""
    name = module.__name__
    public = list(getattr(module, "__all__", []))
    classes = [n for n in public if inspect.isclass(getattr(module, n))]
    functions = [n for n in public if n not in classes and callable(getattr(module, n))]
    heading = f"``{name}``: {title}"
    parts = [
        f".. _api_{name.replace('.', '_')}:",
        "",
        heading,
        "=" * len(heading),
        "",
        f".. automodule:: {name}",
        "   :no-members:",
        "   :no-inherited-members:",
        "",
        f".. currentmodule:: {name}",
        "",
    ]
    for section, names, template in (
        ("Classes", classes, "class.rst"),
        ("Functions", functions, "function.rst"),
    ):
        if names:
            parts += [section, "-" * len(section), "", _autosummary(names, template)]
    return "\n".join(parts)


def write_api_pages():
    """Write ``api/generated/<module>.rst`` and the reference's toctree."""
    entries = []
    for name, title in public_modules():
        module = import_public(name)
        if module is None:
            continue
        _write_if_changed(API_DIR / f"{name}.rst", module_page(module, title))
        entries.append(f"   generated/{name}")
    toctree = [".. toctree::", "   :maxdepth: 2", "", *entries, ""]
    _write_if_changed(API_DIR / "modules.inc", "\n".join(toctree))


def write_cli_help():
    """Write the ``--help`` text of the command and each subcommand."""
    import argparse

    from sklearn_xai.cli import build_parser

    out = DOCS / "_generated" / "cli"
    parser = build_parser()
    os.environ["COLUMNS"] = "88"
    _write_if_changed(out / "sklearn-xai.txt", parser.format_help())
    commands = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                commands.append(command)
                _write_if_changed(out / f"{command}.txt", sub.format_help())
    # One literal block per subcommand, so new subcommands appear by themselves.
    blocks = []
    for command in commands:
        title = f"``sklearn-xai {command}``"
        blocks += [
            title,
            "^" * len(title),
            "",
            f".. literalinclude:: /_generated/cli/{command}.txt",
            "   :language: text",
            "",
        ]
    _write_if_changed(out / "commands.inc", "\n".join(blocks))


def skip_foreign_members(app, what, name, obj, skip, options):
    """Skip members that scikit-learn generates on every estimator.

    ``set_{method}_request`` methods are created per class by scikit-learn's
    metadata routing; their docstrings are scikit-learn's (and refer to its
    glossary, unreachable offline).
    """
    module = getattr(obj, "__module__", None) or ""
    if name.startswith("set_") and name.endswith("_request"):
        return not module.startswith("sklearn_xai")
    return None


def setup(app):
    app.connect("autodoc-skip-member", skip_foreign_members)


write_api_pages()
write_cli_help()
