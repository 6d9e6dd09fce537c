"""What every benchmark records beside its figures, and how it measures a child process.

``machine_context()`` goes into every result JSON: the git commit (and whether the tree had
uncommitted changes), the versions that decide the speed, the load average, the CPU, and the
OpenBLAS kernel each BLAS library selected (``threadpoolctl``; ``OPENBLAS_CORETYPE`` forces
one). ``run_child`` runs one measured method in a fresh process and returns the JSON line it
printed, with its peak RSS.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("numpy", "scipy", "scikit-learn", "numba", "dask", "distributed", "xarray",
            "rasterio", "rioxarray", "scikit-image")


def git_commit() -> dict:
    """The checked-out commit and whether the working tree differs from it."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {"sha": git("rev-parse", "HEAD") or "unknown",
            "uncommitted_changes": bool(git("status", "--porcelain", "--untracked-files=no"))}


def openblas_kernels() -> list[dict]:
    """Each loaded BLAS library with the kernel it selected (load numpy/scipy first)."""
    import threadpoolctl

    return [{"library": Path(info["filepath"]).name, "kernel": info.get("architecture"),
             "version": info.get("version"), "threads": info.get("num_threads")}
            for info in threadpoolctl.threadpool_info() if info.get("user_api") == "blas"]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_context() -> dict:
    """The context block of a result JSON (imports numpy and scipy to see their BLAS)."""
    import numpy  # noqa: F401  (loads numpy's BLAS, so that it is listed)
    import scipy.linalg  # noqa: F401  (scipy's BLAS: the one scikit-learn's libsvm calls)

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "git": git_commit(),
        "python": platform.python_version(),
        "versions": versions,
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
        "blas": openblas_kernels(),
    }


def vm_hwm_mb() -> float:
    """This process's peak RSS since its exec (``VmHWM``), MB. (``ru_maxrss`` of a spawned
    child can hold its parent's high-water mark at fork time.)"""
    status = Path("/proc/self/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024


def run_child(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd`` (a Python process printing one JSON line last) and return that JSON, with
    ``ru_maxrss_mb`` from ``wait4`` (an upper bound: see :func:`vm_hwm_mb`)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    info = json.loads(output.strip().splitlines()[-1]) if code == 0 else {"error": f"exit {code}"}
    info["ru_maxrss_mb"] = usage.ru_maxrss / 1024
    return info


if __name__ == "__main__":
    json.dump(machine_context(), sys.stdout, indent=2)
    print()
