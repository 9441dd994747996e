"""Every benchmark in bench/ runs end to end with a tiny load (--quick), so none can rot.

These check that each command starts its stacks, drives load and prints its table; the
speed targets themselves live in the benchmarks, never in tests.
"""

import subprocess
import sys

import pytest

from imagehost import ROOT

pytestmark = pytest.mark.e2e

BENCHMARKS = {
    "upload": "Upload through nginx",
    "upload_cpu": "CPU per upload at concurrency",
    "serve": "Serving through nginx",
    "gallery": "Gallery through nginx",
    "album": "Album zip through nginx",
    "healthz": "GET /healthz through nginx",
    "memory": "Peak RSS while uploading",
    "backup": "Backup of",
    "profile_upload": "inclusive (a function and what it calls):",
    "s3": "Object storage (Ceph RGW) beside local storage",
    "users_page": "Users page through nginx",
}


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_runs(name):
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert BENCHMARKS[name] in done.stdout
    if name != "profile_upload":
        table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
        assert len(table) >= 3, done.stdout  # a header and at least two rows of figures


def test_the_quota_case_of_the_upload_cpu_benchmark_runs():
    done = subprocess.run(
        [sys.executable, "-m", "bench.upload_cpu", "--quick", "--owner-images", "0,20"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Quota checks: CPU per upload" in done.stdout
    summary = done.stdout.split("### Medians")[1]
    assert [line.split("|")[1].strip() for line in summary.splitlines()[4:6]] == ["0", "20"]
