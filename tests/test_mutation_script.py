"""scripts/mutation.py (``make mutation``): which mutants it leaves out as never evaluated, and
which lines a mutant changed (the test selection's key)."""

from __future__ import annotations

from helpers import load_script


def _script():
    return load_script("mutation")


SOURCE = '''from __future__ import annotations
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    import pandas
LIMIT: int | None = 3
def f(a: int | None = None, *rest: float, b: "str" = "x", **kw: bool) -> list[int]:
    size: int = a + 1
    return [size, LIMIT]
'''


def _text(source, span):
    (r0, c0), (r1, c1) = span
    lines = source.splitlines()
    if r0 == r1:
        return lines[r0 - 1][c0:c1]
    return "\n".join([lines[r0 - 1][c0:], *lines[r0:r1 - 1], lines[r1 - 1][:c1]])


def test_only_annotations_and_type_checking_blocks_are_left_out():
    spans = sorted(_text(SOURCE, s) for s in _script()._unevaluated_spans(SOURCE))
    assert spans == sorted(['"str"', "bool", "float", "if TYPE_CHECKING:\n    import pandas",
                            "int", "int | None", "int | None", "list[int]"])
    # defaults, assigned values and bodies run: never left out
    assert not set(spans) & {"None", '"x"', "3", "a + 1"}


def test_without_future_annotations_only_type_checking_blocks_are_left_out():
    source = SOURCE.replace("from __future__ import annotations\n", "")
    spans = [_text(source, s) for s in _script()._unevaluated_spans(source)]
    assert spans == ["if TYPE_CHECKING:\n    import pandas"]


def test_changed_lines_are_numbered_in_the_original():
    original = ["a = 1", "b = 2", "c = 3", "d = 4"]
    changed = _script()._changed_lines
    assert changed(original, ["a = 1", "b = 2", "c = 4", "d = 4"]) == {3}
    assert changed(original, ["a = 1", "b = 2", "d = 4"]) == {3}
    assert changed(original, original) == set()


def test_numba_functions_run_as_python_for_the_coverage_measurement():
    # in a new process: the replacement is for the whole process (the measurement's)
    code = (
        "import sys; sys.path.insert(0, 'scripts'); from pathlib import Path\n"
        "import mutation\n"
        "names = mutation._run_numba_functions_in_python(Path('xr_landcover/segment/merge.py'))\n"
        "from xr_landcover.segment import kernels, labels, merge\n"
        "import types\n"
        "assert names == ['_consider', '_dist2', '_union', 'global_merge', 'local_merge'], names\n"
        "assert isinstance(merge.local_merge, types.FunctionType)\n"
        "assert labels.local_merge is merge.local_merge\n"
        "assert labels.global_merge is merge.global_merge\n"
        "assert not isinstance(kernels.find_root, types.FunctionType)  # kernels': compiled\n"
        "assert not isinstance(merge.find_root, types.FunctionType)\n"
    )
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_resumed_run_tests_its_survivors_again_and_keeps_its_kills(tmp_path, monkeypatch):
    import sqlite3

    script = _script()
    monkeypatch.setattr(script, "BUILD", tmp_path)
    monkeypatch.setattr(script, "ROOT", tmp_path / "tree")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "m.py").write_text("x = 1\n")
    monkeypatch.setitem(script.MODULES, "m", ("m.py", []))
    work = tmp_path / "m"
    work.mkdir()
    assert not script._resumable("m")  # no session
    con = sqlite3.connect(work / "session.sqlite")
    con.execute("create table work_results (worker_outcome, output, test_outcome, diff, job_id)")
    con.executemany("insert into work_results values (?, ?, ?, null, ?)", [
        ("NORMAL", "", "KILLED", 1), ("NORMAL", "", "SURVIVED", 2),
        ("SKIPPED", "outside --only", None, 3),
        ("SKIPPED", "never evaluated: an annotation or TYPE_CHECKING", None, 4),
        ("NORMAL", "", "INCOMPETENT", 5)])
    con.commit()
    (work / "original.py").write_text("x = 2\n")
    assert not script._resumable("m")  # the module changed since: other mutants
    (work / "original.py").write_text("x = 1\n")
    assert script._resumable("m")
    assert script._reopen(work / "session.sqlite") == 2
    left = sorted(j for (j,) in con.execute("select job_id from work_results"))
    assert left == [1, 4, 5]


def _session(path, specs, results):
    """A cosmic-ray session's two tables: ``specs`` (operator, occurrence, row, job) and
    ``results`` {job: (worker outcome, test outcome)}."""
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("create table mutation_specs (module_path, operator_name, operator_args, "
                "occurrence, start_pos_row, start_pos_col, end_pos_row, end_pos_col, "
                "definition_name, job_id)")
    con.execute("create table work_results (worker_outcome, output, test_outcome, diff, job_id)")
    con.executemany("insert into mutation_specs values ('m.py', ?, '{}', ?, ?, 0, ?, 1, 'f', ?)",
                    [(op, occ, row, row, job) for op, occ, row, job in specs])
    con.executemany("insert into work_results values (?, '', ?, ?, ?)",
                    [(w, t, f"diff of {job}", job) for job, (w, t) in results.items()])
    con.commit()
    return con


def test_a_record_keeps_a_runs_kills_for_a_later_session_of_the_same_source(tmp_path,
                                                                           monkeypatch):
    import json

    script = _script()
    monkeypatch.setattr(script, "RECORDS", tmp_path / "records")
    monkeypatch.setattr(script, "_cosmic_ray_version", lambda: "8.7.0")
    monkeypatch.setitem(script.MODULES, "m", ("m.py", ["tests/test_m.py"]))
    source = tmp_path / "m.py"
    source.write_text("x = 1 + 2\n")
    specs = [("core/Add_Sub", 0, 1, "a"), ("core/Add_Mul", 0, 1, "b"), ("core/Add_Sub", 1, 2, "c"),
             ("core/Number", 0, 3, "d"), ("core/Number", 1, 3, "e"), ("core/Number", 2, 4, "f")]
    first = tmp_path / "first.sqlite"
    _session(first, specs, {"a": ("NORMAL", "KILLED"), "b": ("NORMAL", "SURVIVED"),
                            "c": ("NORMAL", "INCOMPETENT"), "d": ("SKIPPED", None),
                            "e": ("EXCEPTION", None)})  # f: not reached
    record = tmp_path / "records" / "m.json"
    counts = script.write_record("m", first, source, record, "abc1234")
    assert counts == {"mutants": 6, "skipped": 1, "pending": 1, "killed": 1, "incompetent": 1,
                      "survived": 2}
    data = json.loads(record.read_text())
    assert data["counts"] == counts and data["commit"] == "abc1234"
    assert data["tests"] == ["m.py", "tests/test_m.py"]
    assert [(m["mutant"], m["outcome"]) for m in data["mutants"]] == [
        ("core/Add_Mul {} 0", "survived"), ("core/Add_Sub {} 0", "killed"),
        ("core/Add_Sub {} 1", "incompetent"), ("core/Number {} 1", "survived")]
    assert data["mutants"][0]["diff"] == "diff of b" and "diff" not in data["mutants"][1]
    assert script._record_matches("m", source)
    # a new session of the same source: other job ids, the same mutants
    later = tmp_path / "later.sqlite"
    con = _session(later, [(op, occ, row, job.upper()) for op, occ, row, job in specs], {})
    assert script.apply_record(later, record) == 2
    assert sorted(con.execute("select job_id, test_outcome from work_results")) == [
        ("A", "KILLED"), ("C", "INCOMPETENT")]  # survivors and the rest: to run
    # another source, or another cosmic-ray: other mutants, the record is not used
    source.write_text("x = 1 - 2\n")
    assert not script._record_matches("m", source)
    source.write_text("x = 1 + 2\n")
    monkeypatch.setattr(script, "_cosmic_ray_version", lambda: "8.8.0")
    assert not script._record_matches("m", source)
