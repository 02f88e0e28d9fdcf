"""The ``sklearn-xai`` command line (also ``python -m sklearn_xai``).

Subcommands
-----------
demo
    The main job: train the CNN on bundled data, explain held-out images with
    every method, score the explanations, tune LIME, fit a surrogate tree,
    print a results table and write a self-contained HTML report.
explain
    The same report for a classifier or pipeline saved with
    :func:`sklearn_xai.neural_network.save_model` and the user's own image
    files or folders, in parallel (joblib) or on a dask cluster. A network
    class of the user's is imported only when named with ``--module``.
benchmark
    Run the benchmark scripts of a source checkout and save their tables.

Exit codes follow the usual convention: 0 success, 1 failure, 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__

__all__ = ["build_parser", "main"]

DATASETS = ("digits", "faces", "shapes")


def _method_names():
    from ._jobs.methods import METHODS

    return list(METHODS)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _network_class(spec):
    """Import ``--module package.module:ClassName`` (from PYTHONPATH or the
    current folder), or raise a one-line ValueError."""
    from .neural_network._io import import_network_class

    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        return import_network_class(spec)
    except ValueError as exc:
        raise ValueError(f"--module: {exc}") from None


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``sklearn-xai`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser, with one sub-parser per subcommand.

    Examples
    --------
    >>> from sklearn_xai.cli import build_parser
    >>> build_parser().parse_args(["demo", "--quick"]).quick
    True
    """
    parser = argparse.ArgumentParser(
        prog="sklearn-xai",
        description=(
            "Explainable deep-learning image classifiers inside scikit-learn."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_demo_parser(sub)
    _add_explain_parser(sub)
    _add_benchmark_parser(sub)
    return parser


def _add_demo_parser(sub):
    """Add the ``demo`` subcommand and its arguments."""
    demo = sub.add_parser(
        "demo",
        help="the main job: train, explain, score, tune and report on bundled data",
        description=(
            "The main job: trains the library's CNN classifier on a bundled, "
            "offline dataset, explains held-out images with every method, "
            "scores every explanation with every metric family (localization "
            "on shapes), tunes LIME by deletion AUC, fits a surrogate tree, "
            "prints the results table and writes a self-contained "
            "OUT/report.html with metrics.csv and PNGs."
        ),
    )
    demo.add_argument(
        "--dataset",
        choices=DATASETS,
        default="digits",
        help="bundled dataset to train on (default: %(default)s)",
    )
    demo.add_argument(
        "--quick",
        action="store_true",
        help="fewer epochs, explained images and samples: under 2 minutes on 2 cores",
    )
    demo.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        help="training epochs (default per dataset: digits 15, faces 30, shapes 25; "
        "about a third with --quick)",
    )
    demo.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed for the split and the network (default: %(default)s)",
    )
    demo.add_argument(
        "--method",
        dest="methods",
        action="append",
        choices=_method_names(),
        metavar="METHOD",
        help="explanation method (repeat for several; default: all of "
        f"{', '.join(_method_names())})",
    )
    demo.add_argument(
        "--out",
        default="sklearn-xai-report",
        help="folder for report.html, metrics.csv and the PNGs (default: %(default)s)",
    )
    demo.add_argument(
        "--no-progress",
        action="store_true",
        help="hide progress bars",
    )


def _add_explain_parser(sub):
    """Add the ``explain`` subcommand and its arguments."""
    explain = sub.add_parser(
        "explain",
        help="explain a saved model's predictions on your image files",
        description=(
            "Explains a classifier or a whole pipeline saved with "
            "sklearn_xai.neural_network.save_model (safetensors weights, "
            "nothing unpickled) on image files and folders, scores the "
            "explanations and writes the same report as demo. Files are read "
            "as the model was fitted (uint8 or [0, 1] floats, its channels and "
            "size), so it predicts what the model predicts on the same images. "
            "Unreadable files are reported and skipped. Shards of images run "
            "in parallel with joblib, or on a dask cluster (--scheduler)."
        ),
    )
    _add_explain_inputs(explain)
    _add_explain_run_options(explain)


def _add_explain_inputs(explain):
    """Add ``explain``'s model and image arguments: --model to --images."""
    explain.add_argument(
        "--model", required=True, help="model file written by save_model"
    )
    explain.add_argument(
        "--module",
        default=None,
        metavar="PACKAGE.MODULE:CLASS",
        help="the network class, when the model file names one other than the "
        "library's SmallCNN: imported (from PYTHONPATH or the current folder) "
        "only when named here",
    )
    explain.add_argument(
        "--device",
        default="cpu",
        help="where the network runs: cpu, cuda, cuda:N or auto (default: %(default)s)",
    )
    explain.add_argument(
        "--images",
        required=True,
        nargs="+",
        metavar="PATH",
        help="image files and folders (searched recursively)",
    )


def _add_explain_run_options(explain):
    """Add ``explain``'s options for the run: --method to --no-progress."""
    explain.add_argument(
        "--method",
        dest="methods",
        action="append",
        choices=_method_names(),
        metavar="METHOD",
        help="explanation method (repeat for several; default: all)",
    )
    explain.add_argument(
        "--out",
        default="sklearn-xai-report",
        help="output folder (default: %(default)s)",
    )
    explain.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="joblib workers over shards of images (-1: all cores)",
    )
    explain.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="dask scheduler address (e.g. tcp://host:8786): run on that cluster",
    )
    explain.add_argument(
        "--shard-size",
        type=_positive_int,
        default=256,
        help="images per shard: bounds each worker's memory (default: %(default)s)",
    )
    explain.add_argument(
        "--quick", action="store_true", help="fewer samples per method"
    )
    explain.add_argument(
        "--random-state", type=int, default=0, help="seed (default: %(default)s)"
    )
    explain.add_argument(
        "--no-progress", action="store_true", help="hide progress bars"
    )


def _add_benchmark_parser(sub):
    """Add the ``benchmark`` subcommand and its arguments."""
    bench = sub.add_parser(
        "benchmark",
        help="run the benchmark scripts and save their tables",
        description=(
            "Runs every benchmarks/bench_*.py of the source checkout (side-by-side "
            "comparisons with lime, captum and Quantus) and saves what each "
            "prints under --out, with a summary.csv."
        ),
    )
    bench.add_argument("--quick", action="store_true", help="short runs")
    bench.add_argument(
        "--out",
        default="sklearn-xai-benchmarks",
        help="output folder (default: %(default)s)",
    )
    bench.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only this script (e.g. bench_lime; repeat for several)",
    )
    bench.add_argument(
        "--benchmarks", default=None, metavar="DIR", help="the benchmarks folder"
    )


def main(argv=None) -> int:
    """Run the ``sklearn-xai`` command.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments without the program name; None reads ``sys.argv``.

    Returns
    -------
    code : int
        0 on success, 1 on failure (2 for usage errors, raised by argparse as
        ``SystemExit``).

    Examples
    --------
    >>> from sklearn_xai.cli import main
    >>> main(["--version"])  # doctest: +SKIP
    """
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("sklearn-xai: interrupted", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"sklearn-xai: error: {exc}", file=sys.stderr)
        return 1


def _demo(args):
    """Run ``sklearn-xai demo``; return 0."""
    from ._jobs.demo import run_demo

    run_demo(
        dataset=args.dataset,
        quick=args.quick,
        epochs=args.epochs,
        methods=args.methods,
        out=args.out,
        random_state=args.random_state,
        progress=not args.no_progress,
    )
    return 0


def _explain(args):
    """Run ``sklearn-xai explain``; return 0."""
    from ._jobs.explain import run_explain

    module = None if args.module is None else _network_class(args.module)
    run_explain(
        args.model,
        args.images,
        module=module,
        device=args.device,
        methods=args.methods,
        out=args.out,
        n_jobs=args.n_jobs,
        scheduler=args.scheduler,
        shard_size=args.shard_size,
        quick=args.quick,
        random_state=args.random_state,
        progress=not args.no_progress,
    )
    return 0


def _benchmark(args):
    """Run ``sklearn-xai benchmark``; return 1 if any script failed, else 0."""
    from ._jobs.benchmark import run_benchmarks

    summary = run_benchmarks(
        quick=args.quick,
        out=args.out,
        only=args.only,
        directory=args.benchmarks,
    )
    return 1 if (summary["status"] != "ok").any() else 0


_COMMANDS = {"demo": _demo, "explain": _explain, "benchmark": _benchmark}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
