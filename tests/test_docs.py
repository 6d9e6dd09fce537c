"""The README's quickstart runs as written, and the README opens with the two commands."""

from __future__ import annotations

import re

from conftest import ROOT


def test_readme_opens_with_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    commands = [line.split("#")[0].strip() for line in lines[1:3]]
    assert lines[0].startswith("```") and commands == ["make demo", "make test"]


def test_readme_quickstart_runs(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the quickstart writes landcover.tif
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README has no python quickstart"
    assert len(blocks[0].splitlines()) <= 12
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "LandcoverModel: svm" in out and "hectares" in out and "forest" in out
    assert "True segment ids" in out
    assert (tmp_path / "landcover.tif").exists()
