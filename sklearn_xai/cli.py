"""The ``sklearn-xai`` command line (also ``python -m sklearn_xai``).

Subcommands
-----------
demo
    The main job: train the CNN on bundled real data and report how well it
    does on held-out images.

Exit codes follow the usual convention: 0 success, 1 failure, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__

__all__ = ["build_parser", "main"]

DATASETS = ("digits", "faces", "shapes")


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

    demo = sub.add_parser(
        "demo",
        help="train the CNN on bundled data and evaluate it on held-out images",
        description=(
            "The main job: trains the library's CNN classifier on a bundled, "
            "offline dataset and prints its accuracy on held-out images."
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
        help="fewer epochs and images, for a fast smoke run",
    )
    demo.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        help="training epochs (default: 15, or 5 with --quick)",
    )
    demo.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed for the split and the network (default: %(default)s)",
    )
    demo.add_argument(
        "--no-progress",
        action="store_true",
        help="hide progress bars",
    )
    return parser


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
        if args.command == "demo":
            from ._demo import run_demo

            run_demo(
                dataset=args.dataset,
                quick=args.quick,
                epochs=args.epochs,
                random_state=args.random_state,
                progress=not args.no_progress,
            )
    except KeyboardInterrupt:
        print("sklearn-xai: interrupted", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"sklearn-xai: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
