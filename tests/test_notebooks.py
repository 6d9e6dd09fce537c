"""The tutorial notebooks: stored with their outputs, in step with ``scripts/make_notebooks.py``,
using only the package's public API, and shown on the docs site.

Running them is nbmake's job (``make test``: ``pytest notebooks --nbmake``); these tests read
the stored files, so a notebook committed without outputs, or edited by hand away from its
source, or reaching for a private helper, fails here in a second.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from helpers import load_script

import xr_landcover

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MAX_BYTES = 1_000_000  # stored outputs stay small: PNGs at 72 dpi


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell: dict) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def make_notebooks():
    return load_script("make_notebooks")


def test_every_notebook_comes_from_the_script():
    script = make_notebooks()
    assert sorted(f"{name}.ipynb" for name in script.NOTEBOOKS) == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        expected = script.notebook(script.NOTEBOOKS[path.stem])
        stored = load(path)
        assert [(c["cell_type"], source(c)) for c in stored["cells"]] == [
            (c["cell_type"], c["source"]) for c in expected.cells
        ], f"{path.name} differs from scripts/make_notebooks.py: re-run the script"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_with_its_outputs(path):
    nb = load(path)
    cells = code_cells(nb)
    assert all(c["execution_count"] is not None for c in cells), (
        f"{path.name}: cells not executed; run scripts/make_notebooks.py")
    # executed in order, top to bottom, in one run
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1))
    outputs = [o for c in cells for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    kinds = {k for o in outputs for k in o.get("data", {})}
    assert "image/png" in kinds or "text/html" in kinds
    assert path.stat().st_size < MAX_BYTES


def test_the_tutorial_notebooks_show_maps():
    with_figures = {p.stem for p in NOTEBOOKS
                    if any("image/png" in o.get("data", {})
                           for c in code_cells(load(p)) for o in c["outputs"])}
    assert {"01_classification", "02_segmentation", "04_after_classification",
            "05_validation"} <= with_figures


def private_uses(code: str) -> list[str]:
    """Imports from xr_landcover's submodules or of names it does not export, and attribute
    uses ``xr_landcover.<name>`` of such names (``_private`` ones included)."""
    public = set(xr_landcover.__all__)
    lines = [line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))]
    found = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xr_landcover"):
            if node.module != "xr_landcover":
                found.append(f"from {node.module} import ...")
            found += [f"from xr_landcover import {a.name}" for a in node.names
                      if a.name not in public]
        elif isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names
                      if a.name.startswith("xr_landcover.")]
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id == "xr_landcover" and node.attr not in public):
            found.append(f"xr_landcover.{node.attr}")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_uses_the_public_api_only(path):
    used = [u for c in code_cells(load(path)) for u in private_uses(source(c))]
    assert not used, f"{path.name} reaches past the public API: {used}"


@pytest.mark.parametrize("code", [
    "from xr_landcover.demo import split_polygons",
    "from xr_landcover import _validate",
    "import xr_landcover.postprocess.smoothing",
    "xr_landcover.demo.split_polygons(p, 'id')",
])
def test_private_uses_are_found(code):
    assert private_uses(code)


def test_public_uses_pass():
    assert not private_uses("%matplotlib inline\nimport xr_landcover\n"
                            "from xr_landcover import datasets\n"
                            "xr_landcover.cross_validate(cube, polygons)")


def test_docs_site_shows_the_notebooks():
    link = ROOT / "docs" / "notebooks"
    assert link.is_symlink() and link.resolve() == (ROOT / "notebooks").resolve()
    config = (ROOT / "mkdocs.yml").read_text()
    assert "mkdocs-jupyter" in config
    for path in NOTEBOOKS:
        assert f"notebooks/{path.name}" in config, f"{path.name} missing from the mkdocs nav"
