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
