"""Every ```python block of README.md and docs/*.md runs, in order, per page.

The blocks of one page share one fresh namespace and run in a temporary directory (pages write
``landcover.tif`` and the like). A block is left out only with a visible marker and a reason on
the line before it, ``<!-- not run: needs a SLURM cluster -->``; the marker shows in the page's
source, so a reader knows that block is a sketch. New pages and new blocks are picked up on
their own.

To keep the whole run under two minutes on two cores, the shipped scenes are cropped: the
``datasets`` loaders return a window of the real scene (the NC window still holds training
polygons of every class but agriculture, which the full scene drops too). The code run is
the page's, unchanged. Global state a page may change (dask's configuration, a distributed
client, a process pool) is put back after it.
"""

from __future__ import annotations

import copy
import re
import warnings
from pathlib import Path

import dask
import matplotlib
import pytest
from conftest import ROOT

from xr_landcover import datasets

matplotlib.use("Agg")

FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", flags=re.S | re.M)
SKIP = re.compile(r"<!--\s*not run:((?:(?!-->).)*)-->\s*\Z", flags=re.S)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(text: str) -> list[tuple[int, str, str | None]]:
    """``(line, code, reason to skip or None)`` for each ```python block of a page."""
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()]
        skip = SKIP.search(before)
        reason = skip.group(1).strip() if skip else None
        if skip is not None and not reason:
            raise AssertionError(
                f"line {before.count(chr(10)) + 1}: a '<!-- not run: -->' marker needs a reason"
            )
        blocks.append((before.count("\n") + 2, match.group(1), reason))
    return blocks


def run_page(path: Path, namespace: dict | None = None) -> dict:
    """Run the blocks of one page in order in one fresh namespace; return the namespace."""
    namespace = {} if namespace is None else namespace
    namespace["__name__"] = "__docs__"
    for line, code, reason in python_blocks(path.read_text()):
        if reason is not None:
            continue
        # pad so that a traceback names the page's own line numbers
        source = "\n" * (line - 1) + code
        exec(compile(source, str(path.relative_to(ROOT)), "exec"), namespace)
    return namespace


PAGES_WITH_CODE = [p for p in PAGES if python_blocks(p.read_text())]

# what some pages print: the README's quickstart (seeded: the same every run), the progress
# bars of scale.md (one per computation: the GeoTIFF write, the area count, the segmentation)
PRINTS = {
    "README.md": ("LandcoverModel: svm", "hectares", "forest", "seed 0", "True segment ids"),
    "scale.md": ("100% Completed",),
}

# windows of the shipped scenes: (rows, cols)
NC_WINDOW = (slice(140, 400), slice(60, 390))
L8_WINDOW = (slice(0, 192), slice(0, 192))


def cropped(loader, window):
    def load(*args, **kwargs):
        full = loader(*args, **kwargs)
        part = full.isel(y=window[0], x=window[1])
        return part.rio.write_transform(part.rio.transform(recalc=True))

    return load


@pytest.fixture
def small_scenes(monkeypatch):
    monkeypatch.setattr(datasets, "nc_landsat7", cropped(datasets.nc_landsat7, NC_WINDOW))
    monkeypatch.setattr(datasets, "l8_rgb_uint8", cropped(datasets.l8_rgb_uint8, L8_WINDOW))


def close_global_state(namespace: dict) -> None:
    """Close what a page started: distributed clients and clusters, executors."""
    from concurrent.futures import Executor

    for value in namespace.values():
        module = type(value).__module__ or ""
        if module.startswith(("distributed", "dask_jobqueue", "dask_kubernetes")):
            close = getattr(value, "close", None)
            if callable(close):
                close()
        elif isinstance(value, Executor):
            value.shutdown(wait=True, cancel_futures=True)


def restore_dask_config(snapshot: dict) -> None:
    """Put dask's configuration back as in ``snapshot``: a page's ``dask.config.set`` (the
    processes scheduler, a pool) must not leak into the next page; the defaults a library
    registers on import (distributed's) stay."""
    config = dask.config.config
    registered = set().union(*(defaults.keys() for defaults in dask.config.defaults))
    for key in list(config):
        if key in snapshot:
            config[key] = snapshot[key]
        elif key not in registered:
            del config[key]


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: p.name)
def test_page_runs(page, tmp_path, monkeypatch, small_scenes, capsys):
    monkeypatch.chdir(tmp_path)
    import matplotlib.pyplot as plt

    config = copy.deepcopy(dask.config.config)
    namespace: dict = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            run_page(page, namespace)
    finally:
        plt.close("all")
        close_global_state(namespace)
        restore_dask_config(config)
    out = capsys.readouterr().out
    for expected in PRINTS.get(page.name, ()):
        assert expected in out, (page.name, expected)
    if page.name == "README.md":
        assert (tmp_path / "landcover.tif").exists()


def test_every_block_runs_or_says_why():
    """The collector sees every fence of a page, and a skipped block names its reason."""
    text = (
        "# t\n\n```python\na = 1\n```\n\n<!-- not run: needs a cluster -->\n```python\n"
        "raise SystemExit\n```\n\n```python\nb = a + 1\n```\n"
    )
    blocks = python_blocks(text)
    assert [reason for _, _, reason in blocks] == [None, "needs a cluster", None]
    assert blocks[0][0] == 4  # the first line of code, for tracebacks
    with pytest.raises(AssertionError, match="needs a reason"):
        python_blocks("<!-- not run: -->\n```python\nx\n```\n")
    with pytest.raises(AssertionError, match="needs a reason"):  # an earlier marker is not it
        python_blocks(text + "\n<!-- not run:-->\n```python\nx\n```\n")


def test_readme_opens_with_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    commands = [line.split("#")[0].strip() for line in lines[1:3]]
    assert lines[0].startswith("```") and commands == ["make demo", "make test"]


def test_readme_quickstart_is_short():
    blocks = python_blocks((ROOT / "README.md").read_text())
    assert blocks, "the README has no python quickstart"
    assert len(blocks[0][1].splitlines()) <= 12
