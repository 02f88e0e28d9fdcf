"""The job behind ``sklearn-xai benchmark``: run the benchmark scripts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def find_benchmarks(directory=None):
    """The ``benchmarks/`` folder of a source checkout.

    Looks at ``directory`` when given, else at ``./benchmarks`` and at the
    folder beside the installed package (an editable or source install).
    """
    candidates = (
        [Path(directory)]
        if directory is not None
        else [
            Path.cwd() / "benchmarks",
            Path(__file__).resolve().parents[2] / "benchmarks",
        ]
    )
    for candidate in candidates:
        if sorted(candidate.glob("bench_*.py")):
            return candidate
    raise ValueError(
        "no benchmarks folder with bench_*.py scripts found (looked in "
        + ", ".join(str(c) for c in candidates)
        + "); the benchmarks ship with the source checkout: run from it or "
        "pass --benchmarks DIR."
    )


def _status(returncode):
    """``ok``, ``failed (code)``, or ``crashed: SIGSEGV`` for a signal's kill."""
    if returncode == 0:
        return "ok"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"crashed: {name}"
    return f"failed ({returncode})"


def run_benchmarks(
    *, quick=False, out="sklearn-xai-benchmarks", only=None, directory=None
):
    """Run every ``bench_*.py`` script and save what each prints.

    Parameters
    ----------
    quick : bool, default=False
        Pass ``--quick`` to each script (a short run).
    out : str or path-like, default="sklearn-xai-benchmarks"
        Folder for one ``<script>.txt`` per benchmark (its tables) and
        ``summary.csv``.
    only : list of str or None, default=None
        Script names (e.g. ``bench_lime``) to run; None runs all.
    directory : str or None, default=None
        The benchmarks folder; None finds it (see :func:`find_benchmarks`).

    Returns
    -------
    summary : pandas.DataFrame
        One row per script: its status (``ok``, ``failed (code)``, or
        ``crashed: SIGSEGV`` and the like for a script a signal killed) and
        seconds.

    Notes
    -----
    Each script runs in its own process, so one that crashes does not stop
    the others. The processes get ``ONEDNN_MAX_CPU_ISA=AVX2`` unless the
    environment sets it: torch's oneDNN AVX-512 kernels can crash the
    backward pass of a ResNet at 224x224 ("double free or corruption").
    """
    import pandas as pd

    folder = find_benchmarks(directory)
    scripts = sorted(folder.glob("bench_*.py"))
    if only:
        names = {s.stem: s for s in scripts}
        unknown = [name for name in only if name not in names]
        if unknown:
            raise ValueError(
                f"unknown benchmark {unknown[0]!r}; choose from {', '.join(names)}."
            )
        scripts = [names[name] for name in only]
    os.makedirs(out, exist_ok=True)
    rows = []
    env = {"ONEDNN_MAX_CPU_ISA": "AVX2", **os.environ, "MPLBACKEND": "Agg"}
    for script in scripts:
        command = [sys.executable, str(script)] + (["--quick"] if quick else [])
        print(f"running {' '.join(command[1:])}", flush=True)
        start = time.perf_counter()
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, env=env,
            cwd=folder.parent,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        status = _status(result.returncode)
        text = result.stdout + (
            f"\n--- stderr ---\n{result.stderr}\n--- {status} ---\n"
            if result.returncode
            else ""
        )
        Path(out, f"{script.stem}.txt").write_text(text, encoding="utf-8")
        print(f"  {status} in {seconds:.1f} s -> {Path(out, script.stem + '.txt')}")
        rows.append({"benchmark": script.stem, "status": status, "seconds": seconds})
    summary = pd.DataFrame(rows).set_index("benchmark")
    summary.to_csv(Path(out, "summary.csv"))
    print(summary.to_string(float_format=lambda v: f"{v:.1f}"))
    return summary
