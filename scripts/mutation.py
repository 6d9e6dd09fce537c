"""Mutation testing of the modules that compute results, with cosmic-ray (``make mutation``).

Each module is mutated in its own scratch copy of the working tree (``build/mutation/<name>``;
the tree you work in is never touched, and an interrupted run leaves nothing in it), against
the test files that cover it (and its own doctests) only, so a run is bounded:

    python scripts/mutation.py change points          # some modules
    python scripts/mutation.py --list                 # the modules and their tests
    MUTATION_TIMEOUT=1800 python scripts/mutation.py report
    python scripts/mutation.py points --only _largest_remainder,_allocate   # some functions

Operators: cosmic-ray's core set less the bitwise, shift, power, modulo and floor-division
replacements of arithmetic and boolean operators (``Mul -> RShift`` and the like, which are not
the bugs people write and would triple the run). Per mutant the tests stop at the first failure
(``-x``) and have ``MUTANT_TIMEOUT`` seconds (default 300); per module the whole run has
``MUTATION_TIMEOUT`` seconds (default 3600). Results: ``build/mutation/<name>/session.sqlite``,
a survivors report ``build/mutation/<name>/survivors.txt`` (each surviving mutant's diff) and
one line per module on stdout: mutants run, killed, survived, skipped, score.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "mutation"

#: name -> (module path, pytest arguments: the test files that cover the module)
MODULES: dict[str, tuple[str, list[str]]] = {
    "change": ("xr_landcover/change.py", ["tests/test_change.py"]),
    "points": ("xr_landcover/assessment/points.py",
               ["tests/test_accuracy.py", "tests/test_sample_size.py", "-k", "accuracy_points"]),
    "report": ("xr_landcover/assessment/report.py", ["tests/test_report.py"]),
    "evaluate": ("xr_landcover/assessment/evaluate.py", ["tests/test_accuracy.py"]),
    "reference": ("xr_landcover/assessment/reference.py", ["tests/test_accuracy.py"]),
    "pixels": ("xr_landcover/classification/pixels.py", ["tests/test_classify.py"]),
    "samples": ("xr_landcover/classification/samples.py", ["tests/test_samples.py"]),
    "model": ("xr_landcover/classification/model.py",  # with the model-file fault tests
              ["tests/test_model.py", "tests/test_faults.py",
               "-k", "test_model.py or zip or skops or pickle or renamed_type"]),
    "merge": ("xr_landcover/segment/merge.py",
              ["tests/test_segment.py", "-k", "reference or exactly_min or chunking"]),
    "labels": ("xr_landcover/segment/labels.py", ["tests/test_segment.py"]),
    "geotiff": ("xr_landcover/io/geotiff.py", ["tests/test_geotiff.py", "tests/test_atomic.py"]),
    "atomic": ("xr_landcover/io/_atomic.py",
               ["tests/test_atomic.py",
                *(f"tests/test_faults.py::test_disk_full_{t}" for t in
                  ("geotiff_keeps_the_old_file", "zarr_keeps_the_old_store",
                   "model_save_keeps_the_old_model"))]),
}

EXCLUDED_OPERATORS = [
    r"core/ReplaceBinaryOperator_\w+_(BitAnd|BitOr|BitXor|LShift|RShift|Pow|Mod|FloorDiv)$",
]


def _copy_tree(dest: Path) -> None:
    """The working tree's tracked and untracked-but-not-ignored files, copied to ``dest``."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _config(module: str, tests: list[str], mutant_timeout: float) -> str:
    command = " ".join([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                        *(f'"{t}"' if " " in t else t for t in tests)])
    excluded = ", ".join(f"'{e}'" for e in EXCLUDED_OPERATORS)
    return (
        "[cosmic-ray]\n"
        f'module-path = "{module}"\n'
        f"timeout = {mutant_timeout}\n"
        "excluded-modules = []\n"
        f"test-command = '{command}'\n\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n\n'
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = [{excluded}]\n"
    )


def _summary(db: Path, out: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    rows = con.execute(
        "select s.operator_name, s.start_pos_row, r.worker_outcome, r.test_outcome, r.diff "
        "from mutation_specs s left join work_results r on s.job_id = r.job_id "
        "order by s.start_pos_row"
    ).fetchall()
    counts = {"mutants": len(rows), "killed": 0, "survived": 0, "skipped": 0, "pending": 0,
              "incompetent": 0}
    lines = []
    for operator, row, worker, test, diff in rows:
        worker, test = (worker or "").lower() or None, (test or "").lower()
        if worker is None:
            counts["pending"] += 1
        elif worker == "skipped":
            counts["skipped"] += 1
        elif test == "killed":
            counts["killed"] += 1
        elif test == "incompetent":
            counts["incompetent"] += 1
        else:
            counts["survived"] += 1
            lines.append(f"--- line {row}: {operator} ({worker}, {test})\n{diff}\n")
    out.write_text("".join(lines))
    return counts


def _skip_outside(db: Path, functions: list[str]) -> None:
    """Mark the mutants outside ``functions`` (names of definitions) as skipped."""
    con = sqlite3.connect(db)
    con.execute(
        "insert into work_results (worker_outcome, output, test_outcome, diff, job_id) "
        "select 'SKIPPED', 'outside --only', null, null, s.job_id from mutation_specs s "
        "where s.job_id not in (select job_id from work_results) and "
        f"coalesce(s.definition_name, '') not in ({', '.join('?' * len(functions))})",
        functions,
    )
    con.commit()


def run_module(name: str, mutant_timeout: float, timeout: float,
               only: list[str] | None = None) -> dict[str, int]:
    module, tests = MODULES[name]
    tests = [module, *tests]  # the module's doctests run in `make test` too
    work = BUILD / name
    if work.exists():
        shutil.rmtree(work)
    src = work / "src"
    src.mkdir(parents=True)
    _copy_tree(src)
    (work / "shared").symlink_to(ROOT.parent / "shared")  # tests/conftest.py: ../shared/data
    (src / "cosmic-ray.toml").write_text(_config(module, tests, mutant_timeout))
    db = work / "session.sqlite"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    cr = [sys.executable, "-m", "cosmic_ray.cli"]
    subprocess.run([*cr, "init", "cosmic-ray.toml", str(db)], cwd=src, env=env, check=True)
    subprocess.run([sys.executable, "-m", "cosmic_ray.tools.filters.operators_filter",
                    str(db), "cosmic-ray.toml"], cwd=src, env=env, check=True)
    if only:
        _skip_outside(db, only)
    try:
        subprocess.run([*cr, "exec", "cosmic-ray.toml", str(db)], cwd=src, env=env,
                       timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        print(f"{name}: stopped after {timeout:.0f} s; the counts below are partial",
              file=sys.stderr)
    return _summary(db, work / "survivors.txt")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"some of {sorted(MODULES)} (default all)")
    parser.add_argument("--list", action="store_true", help="print the modules and their tests")
    parser.add_argument("--only", default=None,
                        help="comma-separated function names: mutate only these (a shorter run)")
    args = parser.parse_args(argv)
    if args.list:
        for name, (module, tests) in MODULES.items():
            print(f"{name:10} {module:40} {' '.join(tests)}")
        return 0
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown modules {unknown}; choose from {sorted(MODULES)}")
    mutant_timeout = float(os.environ.get("MUTANT_TIMEOUT", 300))
    timeout = float(os.environ.get("MUTATION_TIMEOUT", 3600))
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True).stdout.strip()
    for name in args.modules or list(MODULES):
        c = run_module(name, mutant_timeout, timeout,
                       args.only.split(",") if args.only else None)
        ran = c["killed"] + c["survived"]
        score = f"{100 * c['killed'] / ran:.1f} %" if ran else "n/a"
        print(f"{sha} {name}: {c['mutants']} mutants, {c['skipped']} skipped (operators, --only), "
              f"{c['incompetent']} incompetent, {c['pending']} not run; {c['killed']} killed, "
              f"{c['survived']} survived: score {score} "
              f"(survivors: {BUILD / name / 'survivors.txt'})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
