"""A very short run of the serving benchmark (`benchmarks/run.py`): it must still work."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"([\d.]+)"
ROW = re.compile(r"^\| baseline \| 1 \| " + r" \| ".join([NUMBER] * 6) + r" \|", re.MULTILINE)


@pytest.mark.skipif(shutil.which("wrk") is None,
                    reason="wrk not installed (apt-get install -y wrk)")
def test_run_baseline_for_one_second_prints_real_figures(full_split_dir: Path,
                                                         sample_dir: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--parts", "serving", "--servers", "baseline",
         "--seconds", "1", "--connections", "1"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert finished.returncode == 0, finished.stderr
    row = ROW.search(finished.stdout)
    assert row is not None, finished.stdout
    throughput, p50, p95, p99, errors, cpu_ms = (float(value) for value in row.groups())
    assert throughput > 1.0
    assert 0 < p50 <= p95 <= p99 < 10_000
    assert errors == 0
    assert 0 < cpu_ms < 10_000
    assert "Machine: " in finished.stdout
