"""Mutation testing of the modules that compute results, with cosmic-ray (``make mutation``).

Each module is mutated in its own scratch copy of the working tree (``build/mutation/<name>``;
the tree you work in is never touched, and an interrupted run leaves nothing in it), against
the test files that cover it (and its own doctests) only, so a run is bounded:

    python scripts/mutation.py change points          # some modules
    python scripts/mutation.py --list                 # the modules and their tests
    MUTATION_TIMEOUT=1800 python scripts/mutation.py report
    python scripts/mutation.py points --only _largest_remainder,_allocate   # some functions
    MUTATION_TIMEOUT=1800 python scripts/mutation.py report --resume     # go on from the last run

Operators: cosmic-ray's core set less the bitwise, shift, power, modulo and floor-division
replacements of arithmetic and boolean operators (``Mul -> RShift`` and the like, which are not
the bugs people write and would triple the run). Per mutant the tests stop at the first failure
(``-x``) and have ``MUTANT_TIMEOUT`` seconds (default 300); per module the whole run has
``MUTATION_TIMEOUT`` seconds (default 3600). Results: ``build/mutation/<name>/session.sqlite``,
a survivors report ``build/mutation/<name>/survivors.txt`` (each surviving mutant's diff) and
one line per module on stdout: mutants run, killed, survived, skipped, score.

A run's outcomes also go to a record that is committed with the code,
``benchmarks/results/mutation/<name>.json``: the module's source hash, the commit, the test
command, the counts, and one entry per mutant run (its operator and occurrence, line, function,
outcome; a survivor's diff). ``--resume`` goes on from the scratch session when there is one,
else from the record, if the module's source is the one the record was made of (same hash, same
cosmic-ray): its kills stay, its survivors and the mutants it did not reach run. So a module's
run can be spread over several sessions on a slow machine.

Test selection, to make a run shorter without changing its verdicts: before mutating, the
module's tests run once under coverage.py with one coverage context per test
(``build/mutation/<name>/coverage.json``: for each line of the module, the tests that ran it).
Each mutant then first runs only the tests that ran its changed lines; if one fails, the mutant
is killed. If they all pass (or the line ran only at import time, or coverage cannot see it, as
inside numba-compiled functions), the module's whole test command runs, as without the
selection. So a survivor has always passed the whole command; only kills come early.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "mutation"
#: the committed record of each module's last run (:func:`write_record`)
RECORDS = ROOT / "benchmarks" / "results" / "mutation"
#: this script, run again (its hidden commands: --measure-coverage, --serve, --test-mutant)
SELF = [sys.executable, str(Path(__file__).resolve())]

_LIGHT_IMPORT = "tests/test_package.py::test_import_loads_no_segmentation_vector_or_plotting_stack"

#: name -> (module path, pytest arguments: the test files that cover the module)
MODULES: dict[str, tuple[str, list[str]]] = {
    "change": ("xr_landcover/change.py", ["tests/test_change.py"]),
    "points": ("xr_landcover/assessment/points.py",
               ["tests/test_accuracy.py", "tests/test_sample_size.py", "-k", "accuracy_points"]),
    # accuracy() returns an AccuracyReport: test_accuracy checks its tables and area estimates
    "report": ("xr_landcover/assessment/report.py",
               ["tests/test_report.py", "tests/test_accuracy.py"]),
    # and the bad-input cases of accuracy() in test_errors, the training= guard in test_leakage,
    # and that importing the package loads no geopandas (the TYPE_CHECKING imports)
    "evaluate": ("xr_landcover/assessment/evaluate.py",
                 ["tests/test_accuracy.py", "tests/test_leakage.py", "tests/test_errors.py",
                  _LIGHT_IMPORT, "-k", "not test_errors or accuracy"]),
    # reference also serves accuracy_points and sample_size (class_area_table)
    "reference": ("xr_landcover/assessment/reference.py",
                  ["tests/test_accuracy.py", "tests/test_sample_size.py", "tests/test_leakage.py",
                   "tests/test_errors.py", _LIGHT_IMPORT,
                   "-k", "not test_errors or accuracy or points"]),
    "pixels": ("xr_landcover/classification/pixels.py",
               ["tests/test_classify.py", "tests/test_objects.py"]),
    # and the bad-input cases of training samples in test_errors (tables, files, geometries)
    "samples": ("xr_landcover/classification/samples.py",
                ["tests/test_samples.py", "tests/test_errors.py",
                 "-k", "samples.py or samples- or bowtie"]),  # samples.py: and its doctests
    "model": ("xr_landcover/classification/model.py",  # with the model-file fault tests
              ["tests/test_model.py", "tests/test_faults.py",
               "-k", "model.py or zip or skops or pickle or renamed_type"]),
    "merge": ("xr_landcover/segment/merge.py",
              ["tests/test_segment.py", "-k",
               "reference or exactly_min or chunking or merge or faces or whole_image_decides"]),
    "labels": ("xr_landcover/segment/labels.py", ["tests/test_segment.py"]),
    # and the disk-full fault test of GeoTIFFs (the needed sizes and margins)
    "geotiff": ("xr_landcover/io/geotiff.py",
                ["tests/test_geotiff.py", "tests/test_atomic.py",
                 "tests/test_faults.py::test_disk_full_geotiff_keeps_the_old_file"]),
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


def _config(name: str, module: str, mutant_timeout: float) -> str:
    command = " ".join([*SELF, "--test-mutant", name])
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


class _ContextPerTest:
    """A pytest plugin: coverage of ``module`` with one coverage context per test (its node id)."""

    def __init__(self, module: Path, data_file: Path):
        import coverage

        self.cov = coverage.Coverage(data_file=str(data_file), include=[str(module.resolve())],
                                     branch=False)

    def pytest_configure(self, config):
        self.cov.start()

    def pytest_runtest_setup(self, item):
        self.cov.switch_context(item.nodeid)

    def pytest_unconfigure(self, config):
        self.cov.stop()
        self.cov.save()


def _measure_coverage(module: Path, tests: list[str], data_file: Path, out: Path) -> int:
    """Run ``tests`` once (in the current directory) recording which test ran which line of
    ``module``; write ``{line: [node ids]}`` to ``out`` (a line run only at import has ``[]``)."""
    import coverage
    import pytest

    _run_numba_functions_in_python(module)
    plugin = _ContextPerTest(module, data_file)
    code = pytest.main(["-q", "-p", "no:cacheprovider", *tests], plugins=[plugin])
    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    measured = next((f for f in data.measured_files() if Path(f) == module.resolve()), None)
    lines = {}
    if measured is not None:
        for line, contexts in data.contexts_by_lineno(measured).items():
            lines[str(line)] = sorted(c for c in contexts if c)
    out.write_text(json.dumps({"exit_code": int(code), "lines": lines}))
    return int(code)


def _run_numba_functions_in_python(module: Path) -> list[str]:
    """Make the numba-compiled functions of ``module`` plain Python for this process, so that
    coverage sees which test ran which of their lines (compiled code is invisible to it).

    The package is imported first, as the tests import it; then each numba dispatcher defined in
    ``module`` is replaced by its Python function, in ``module`` and wherever another module of
    the package imported it by name. Only the coverage measurement does this: the mutants'
    tests run the compiled code. Returns the names replaced.
    """
    import importlib

    name = ".".join(module.with_suffix("").parts)
    try:
        from numba.core.registry import CPUDispatcher
    except ImportError:
        return []
    mod = importlib.import_module(name)
    package = name.split(".")[0]
    compiled = {key: value for key, value in vars(mod).items()
                if isinstance(value, CPUDispatcher) and value.py_func.__module__ == name}
    for dispatcher in compiled.values():
        for other in [m for n, m in sys.modules.items() if n.split(".")[0] == package]:
            for attr, value in list(vars(other).items()):
                if value is dispatcher:
                    setattr(other, attr, dispatcher.py_func)
    return sorted(compiled)


def _changed_lines(original: list[str], mutated: list[str]) -> set[int]:
    """1-based line numbers of ``original`` that the mutation changed."""
    changed = set()
    matcher = difflib.SequenceMatcher(a=original, b=mutated, autojunk=False)
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag != "equal":
            changed.update(range(i1 + 1, max(i2, i1 + 1) + 1))
    return changed


def _selected_tests(name: str) -> list[str] | None:
    """The node ids of the tests that ran the lines the current mutant changed, or None where
    only the whole test command can tell (a line not measured, or run only at import)."""
    module, _ = MODULES[name]
    work = BUILD / name
    table = json.loads((work / "coverage.json").read_text())["lines"]
    original = (work / "original.py").read_text().splitlines()
    mutated = Path(module).read_text().splitlines()
    selected: set[str] = set()
    for line in _changed_lines(original, mutated):
        tests = table.get(str(line))
        if not tests:
            return None
        selected.update(tests)
    return sorted(selected) or None


#: Imported once by the fork server, so that a mutant's tests do not import them again. Never
#: the package itself, nor anything that imports it: each mutant imports its own copy.
WARM_IMPORTS = ["numpy", "pandas", "scipy", "xarray", "dask", "dask.array", "rasterio",
                "rioxarray", "geopandas", "shapely", "sklearn", "numba", "matplotlib.pyplot"]


def _socket_path(name: str) -> Path:
    return BUILD / name / "forkserver.sock"


def serve(name: str) -> int:
    """The fork server of one module's run (cwd: its scratch tree): third-party imports once,
    then for each request a forked child runs ``pytest.main`` on the request's arguments with
    the client's stdout and stderr, and the exit code goes back. A client that goes away (its
    timeout) has its child killed."""
    import importlib
    import select
    import signal
    import socket

    os.environ.setdefault("MPLBACKEND", "Agg")
    for module in WARM_IMPORTS:
        importlib.import_module(module)
    path = _socket_path(name)
    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    while True:
        conn, _ = server.accept()
        with conn:
            message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 2)
            args = json.loads(message.decode())
            child = os.fork()
            if child == 0:
                server.close()
                conn.close()
                os.dup2(fds[0], 1)
                os.dup2(fds[1], 2)
                sys.path.insert(0, os.getcwd())
                import pytest

                code = pytest.main(args)
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(int(code))
            for fd in fds:
                os.close(fd)
            code = None
            while code is None:
                done, status = os.waitpid(child, os.WNOHANG)
                if done:
                    code = os.waitstatus_to_exitcode(status)
                    break
                readable, _, _ = select.select([conn], [], [], 0.05)
                if readable and not conn.recv(1, socket.MSG_PEEK):  # the client went away
                    os.kill(child, signal.SIGKILL)
                    os.waitpid(child, 0)
                    code = -9
            try:
                conn.sendall(str(code).encode())
            except OSError:
                pass


def _pytest(name: str, args: list[str]) -> int:
    """``pytest -x -q`` on ``args``: in a child of the module's fork server when it runs, else in
    a new process."""
    import socket

    args = ["-x", "-q", "-p", "no:cacheprovider", *args]
    path = _socket_path(name)
    if path.exists():
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(str(path))
                sys.stdout.flush()
                sys.stderr.flush()
                socket.send_fds(conn, [json.dumps(args).encode()], [1, 2])
                reply = b""
                while chunk := conn.recv(64):
                    reply += chunk
                return int(reply)
        except (OSError, ValueError):
            pass
    return subprocess.run([sys.executable, "-m", "pytest", *args], check=False).returncode


def test_mutant(name: str) -> int:
    """cosmic-ray's test command (run in the scratch tree with the mutant applied): the
    selected tests first, then, unless one of them failed, the module's whole command."""
    module, tests = MODULES[name]
    selected = _selected_tests(name)
    if selected and _pytest(name, selected) == 1:  # failed (not a usage or collection error)
        return 1
    return _pytest(name, [module, *tests])


def _outcome(worker: str | None, test: str | None) -> str:
    """One mutant's outcome as this script counts it: pending, skipped, killed, incompetent or
    survived (anything else a worker reported: its tests did not fail)."""
    worker, test = (worker or "").lower() or None, (test or "").lower()
    if worker is None:
        return "pending"
    if worker == "skipped":
        return "skipped"
    if test in ("killed", "incompetent"):
        return test
    return "survived"


def _mutant_key(operator: str, args: str, occurrence: int) -> str:
    """What names a mutant across sessions (cosmic-ray's job ids are random)."""
    return f"{operator} {args} {occurrence}"


def _cosmic_ray_version() -> str:
    from importlib.metadata import version

    return version("cosmic-ray")


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_record(name: str, db: Path, source: Path, out: Path, commit: str) -> dict[str, int]:
    """Write the record of a session ``db`` of module ``name`` (mutated from ``source``) to
    ``out``: the source's hash, the counts, and one line per mutant run (kills, incompetents,
    survivors with their diffs); skips are not kept (the filters make them again)."""
    module, tests = MODULES[name]
    con = sqlite3.connect(db)
    rows = con.execute(
        "select s.operator_name, s.operator_args, s.occurrence, s.start_pos_row, "
        "s.definition_name, r.worker_outcome, r.test_outcome, r.diff "
        "from mutation_specs s left join work_results r on s.job_id = r.job_id "
        "order by s.start_pos_row, s.start_pos_col, s.operator_name, s.occurrence"
    ).fetchall()
    counts = dict.fromkeys(("mutants", "skipped", "pending", "killed", "incompetent",
                            "survived"), 0)
    entries = []
    for operator, args, occurrence, row, function, worker, test, diff in rows:
        outcome = _outcome(worker, test)
        counts["mutants"] += 1
        counts[outcome] += 1
        if outcome in ("skipped", "pending"):
            continue
        entry = {"mutant": _mutant_key(operator, args, occurrence), "line": row,
                 "function": function, "outcome": outcome}
        if outcome == "survived":
            entry["diff"] = diff
        entries.append(json.dumps(entry))
    head = {"module": module, "source_sha256": _sha256(source),
            "cosmic_ray": _cosmic_ray_version(), "commit": commit,
            "tests": [module, *tests], "counts": counts}
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(head, indent=1)[:-2] + ',\n "mutants": [\n  ' + ",\n  ".join(entries)
    out.write_text(text + "\n ]\n}\n")
    return counts


def _record_matches(name: str, source: Path) -> bool:
    """Whether the module's record was made of ``source`` (its mutants are these)."""
    path = RECORDS / f"{name}.json"
    if not path.exists():
        return False
    record = json.loads(path.read_text())
    return (record.get("source_sha256") == _sha256(source)
            and record.get("cosmic_ray") == _cosmic_ray_version())


def apply_record(db: Path, record: Path) -> int:
    """Mark the pending mutants of session ``db`` that ``record`` has killed (or found
    incompetent) as such; its survivors stay pending, to run with today's tests. The caller
    checks that the record was made of the same source. Returns how many were marked."""
    data = json.loads(record.read_text())
    done = {m["mutant"]: m["outcome"] for m in data["mutants"]
            if m["outcome"] in ("killed", "incompetent")}
    con = sqlite3.connect(db)
    specs = con.execute(
        "select operator_name, operator_args, occurrence, job_id from mutation_specs "
        "where job_id not in (select job_id from work_results)").fetchall()
    marked = [(f"from the record of {data['commit']}", done[key].upper(), job)
              for operator, args, occurrence, job in specs
              if (key := _mutant_key(operator, args, occurrence)) in done]
    con.executemany("insert into work_results (worker_outcome, output, test_outcome, diff, "
                    "job_id) values ('NORMAL', ?, ?, null, ?)", marked)
    con.commit()
    return len(marked)


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
        outcome = _outcome(worker, test)
        counts[outcome] += 1
        if outcome == "survived":
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


def _unevaluated_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions ``(row, col)`` of the code that never runs: the annotations of a
    module under ``from __future__ import annotations`` (kept as strings, never evaluated: the
    package never calls ``typing.get_type_hints``) and ``if TYPE_CHECKING:`` tests and bodies."""
    tree = ast.parse(source)
    future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                 and any(a.name == "annotations" for a in n.names) for n in tree.body)
    nodes: list[ast.AST] = []
    for node in ast.walk(tree):
        if future and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
                if arg is not None and arg.annotation is not None:
                    nodes.append(arg.annotation)
            if node.returns is not None:
                nodes.append(node.returns)
        elif future and isinstance(node, ast.AnnAssign):
            nodes.append(node.annotation)
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            nodes.append(node)
    return [((n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)) for n in nodes]


def _skip_unevaluated(db: Path, source: str) -> int:
    """Mark the mutants inside code that never runs (:func:`_unevaluated_spans`) as skipped;
    returns how many."""
    spans = _unevaluated_spans(source)
    con = sqlite3.connect(db)
    specs = con.execute(
        "select job_id, start_pos_row, start_pos_col, end_pos_row, end_pos_col "
        "from mutation_specs where job_id not in (select job_id from work_results)").fetchall()
    skipped = [job for job, r0, c0, r1, c1 in specs
               if any(a <= (r0, c0) and (r1, c1) <= b for a, b in spans)]
    con.executemany(
        "insert into work_results (worker_outcome, output, test_outcome, diff, job_id) "
        "values ('SKIPPED', 'never evaluated: an annotation or TYPE_CHECKING', null, null, ?)",
        [(job,) for job in skipped])
    con.commit()
    return len(skipped)


def _unmutated_tests_fail(name: str, src: Path, env: dict, log: Path) -> bool:
    """Whether the module's test command (as a mutant runs it) fails on the unmutated tree."""
    with open(log, "w") as out:
        return subprocess.run([*SELF, "--test-mutant", name], cwd=src, env=env, stdout=out,
                              stderr=subprocess.STDOUT, check=False).returncode != 0


def _resumable(name: str) -> bool:
    """Whether a run of ``name`` can go on from its session: one exists, and the module's source
    is the one it mutated (its mutants are the same)."""
    module, _ = MODULES[name]
    work = BUILD / name
    return ((work / "session.sqlite").exists() and (work / "original.py").exists()
            and (work / "original.py").read_bytes() == (ROOT / module).read_bytes())


def _reopen(db: Path) -> int:
    """Make a session's survivors and ``--only`` skips pending again (a resumed run tests them
    with today's tests and ``--only``); kills and the other skips stay. Returns how many."""
    con = sqlite3.connect(db)
    cursor = con.execute("delete from work_results where upper(coalesce(test_outcome, '')) = "
                         "'SURVIVED' or output = 'outside --only'")
    con.commit()
    return cursor.rowcount


def run_module(name: str, mutant_timeout: float, timeout: float,
               only: list[str] | None = None, resume: bool = False,
               commit: str = "") -> dict[str, int]:
    module, _ = MODULES[name]  # its doctests run with its tests, as in `make test`
    work = BUILD / name
    db = work / "session.sqlite"
    from_record = resume and not _resumable(name) and _record_matches(name, ROOT / module)
    if resume and not _resumable(name) and not from_record:
        print(f"{name}: nothing to resume (no session of this source, and "
              f"{RECORDS / (name + '.json')} is missing or of another source): a fresh run",
              file=sys.stderr)
    resume = resume and _resumable(name)
    if resume:  # a fresh copy of the tree (today's tests), the session kept
        shutil.rmtree(work / "src")
        for stale in ("coverage.json", "coverage.sqlite"):
            (work / stale).unlink(missing_ok=True)
    elif work.exists():
        shutil.rmtree(work)
    src = work / "src"
    src.mkdir(parents=True)
    _copy_tree(src)
    if not (work / "shared").is_symlink():  # tests/conftest.py: ../shared/data
        (work / "shared").symlink_to(ROOT.parent / "shared")
    (src / "cosmic-ray.toml").write_text(_config(name, module, mutant_timeout))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    shutil.copy2(src / module, work / "original.py")
    measure = subprocess.run([*SELF, "--measure-coverage", name], cwd=src, env=env, check=False)
    if measure.returncode != 0:  # tracing can upset a test (a pickle's size...): still usable
        print(f"{name}: some unmutated tests fail under coverage's tracer (exit "
              f"{measure.returncode}); the lines they ran still select them", file=sys.stderr)
    cr = [sys.executable, "-m", "cosmic_ray.cli"]
    if resume:
        print(f"{name}: resuming {db}: {_reopen(db)} survivors and --only skips to run again",
              file=sys.stderr)
    else:
        subprocess.run([*cr, "init", "cosmic-ray.toml", str(db)], cwd=src, env=env, check=True)
        subprocess.run([sys.executable, "-m", "cosmic_ray.tools.filters.operators_filter",
                        str(db), "cosmic-ray.toml"], cwd=src, env=env, check=True)
        if from_record:
            print(f"{name}: resuming from {RECORDS / (name + '.json')}: "
                  f"{apply_record(db, RECORDS / (name + '.json'))} kills kept; its survivors "
                  "and the mutants it did not reach run", file=sys.stderr)
    if only:
        _skip_outside(db, only)
    _skip_unevaluated(db, (src / module).read_text())
    server = subprocess.Popen([*SELF, "--serve", name], cwd=src, env=env)
    try:
        for _ in range(600):  # its imports take a few seconds
            if _socket_path(name).exists() or server.poll() is not None:
                break
            time.sleep(0.1)
        if _unmutated_tests_fail(name, src, env, work / "forkserver-check.log"):
            print(f"{name}: the unmutated tests fail in the fork server (see "
                  f"{work / 'forkserver-check.log'}): each mutant runs in a new process",
                  file=sys.stderr)
            server.kill()
            _socket_path(name).unlink(missing_ok=True)
            if _unmutated_tests_fail(name, src, env, work / "baseline.log"):
                print(f"{name}: the unmutated tests fail (see {work / 'baseline.log'}); fix "
                      "them first", file=sys.stderr)
                return _summary(db, work / "survivors.txt")
        subprocess.run([*cr, "exec", "cosmic-ray.toml", str(db)], cwd=src, env=env,
                       timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        print(f"{name}: stopped after {timeout:.0f} s; the counts below are partial",
              file=sys.stderr)
    finally:
        server.kill()
        server.wait()
        _socket_path(name).unlink(missing_ok=True)
    write_record(name, db, work / "original.py", RECORDS / f"{name}.json", commit)
    return _summary(db, work / "survivors.txt")


def _commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"some of {sorted(MODULES)} (default all)")
    parser.add_argument("--list", action="store_true", help="print the modules and their tests")
    parser.add_argument("--only", default=None,
                        help="comma-separated function names: mutate only these (a shorter run)")
    parser.add_argument("--resume", action="store_true",
                        help="go on from the module's last session if its source is unchanged: "
                             "its pending mutants and survivors run (with today's tests), its "
                             "kills stay")
    parser.add_argument("--test-mutant", metavar="MODULE", help=argparse.SUPPRESS)
    parser.add_argument("--measure-coverage", metavar="MODULE", help=argparse.SUPPRESS)
    parser.add_argument("--serve", metavar="MODULE", help=argparse.SUPPRESS)
    parser.add_argument("--write-record", metavar="MODULE",
                        help="write the module's record from its scratch session (a run "
                             "stopped before it could) and exit")
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve)
    if args.test_mutant:
        return test_mutant(args.test_mutant)
    if args.measure_coverage:
        sys.path.insert(0, os.getcwd())  # the scratch tree's package, as `python -m pytest`
        module, tests = MODULES[args.measure_coverage]
        work = BUILD / args.measure_coverage
        return _measure_coverage(Path(module), [module, *tests], work / "coverage.sqlite",
                                 work / "coverage.json")
    if args.write_record:
        name, work = args.write_record, BUILD / args.write_record
        counts = write_record(name, work / "session.sqlite", work / "original.py",
                              RECORDS / f"{name}.json", _commit())
        print(f"{RECORDS / (name + '.json')}: {counts}")
        return 0
    if args.list:
        for name, (module, tests) in MODULES.items():
            print(f"{name:10} {module:40} {' '.join(tests)}")
        return 0
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown modules {unknown}; choose from {sorted(MODULES)}")
    mutant_timeout = float(os.environ.get("MUTANT_TIMEOUT", 300))
    timeout = float(os.environ.get("MUTATION_TIMEOUT", 3600))
    sha = _commit()
    for name in args.modules or list(MODULES):
        c = run_module(name, mutant_timeout, timeout,
                       args.only.split(",") if args.only else None, resume=args.resume,
                       commit=sha)
        ran = c["killed"] + c["survived"]
        score = f"{100 * c['killed'] / ran:.1f} %" if ran else "n/a"
        print(f"{sha} {name}: {c['mutants']} mutants, {c['skipped']} skipped (operators, --only), "
              f"{c['incompetent']} incompetent, {c['pending']} not run; {c['killed']} killed, "
              f"{c['survived']} survived: score {score} "
              f"(survivors: {BUILD / name / 'survivors.txt'})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
