"""``sklearn-xai benchmark``: runs the scripts, saves their tables."""

import pandas as pd

from sklearn_xai.cli import main


def test_benchmark_runs_scripts_and_saves_output(tmp_path, capsys):
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "bench_fast.py").write_text(
        "import sys\nprint('table', 'quick' if '--quick' in sys.argv else 'full')\n"
    )
    (bench / "bench_broken.py").write_text("raise SystemExit(3)\n")
    out = tmp_path / "out"
    code = main(["benchmark", "--quick", "--benchmarks", str(bench), "--out", str(out)])
    assert code == 1  # one script failed
    assert (out / "bench_fast.txt").read_text().strip() == "table quick"
    summary = pd.read_csv(out / "summary.csv", index_col="benchmark")
    assert summary.loc["bench_fast", "status"] == "ok"
    assert summary.loc["bench_broken", "status"] == "failed (3)"
    code = main(
        ["benchmark", "--benchmarks", str(bench), "--only", "bench_fast",
         "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    assert (out / "bench_fast.txt").read_text().strip() == "table full"


def test_benchmark_errors(tmp_path, capsys):
    assert main(["benchmark", "--benchmarks", str(tmp_path)]) == 1
    assert "no benchmarks folder" in capsys.readouterr().err
    (tmp_path / "bench_a.py").write_text("")
    assert main(["benchmark", "--benchmarks", str(tmp_path), "--only", "nope"]) == 1
    assert "unknown benchmark 'nope'" in capsys.readouterr().err


def test_benchmark_reports_a_crashed_script_and_runs_the_rest(
    tmp_path, capsys, monkeypatch
):
    # A script a signal kills (as torch's oneDNN kernels can, with a segfault)
    # is reported as crashed; the scripts after it still run, with oneDNN
    # capped at AVX2 unless the environment says otherwise.
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "bench_a_crash.py").write_text(
        "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n"
    )
    (bench / "bench_b_env.py").write_text(
        "import os\nprint(os.environ.get('ONEDNN_MAX_CPU_ISA'))\n"
    )
    out = tmp_path / "out"
    assert main(["benchmark", "--benchmarks", str(bench), "--out", str(out)]) == 1
    summary = pd.read_csv(out / "summary.csv", index_col="benchmark")
    assert summary.loc["bench_a_crash", "status"] == "crashed: SIGSEGV"
    assert summary.loc["bench_b_env", "status"] == "ok"
    assert "crashed: SIGSEGV" in capsys.readouterr().out
    assert "crashed: SIGSEGV" in (out / "bench_a_crash.txt").read_text()
    assert (out / "bench_b_env.txt").read_text().strip() == "AVX2"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE")
    assert main(
        ["benchmark", "--benchmarks", str(bench), "--only", "bench_b_env",
         "--out", str(out)]
    ) == 0  # fmt: skip
    assert (out / "bench_b_env.txt").read_text().strip() == "AVX512_CORE"
