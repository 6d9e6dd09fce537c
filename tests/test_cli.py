"""The xr-landcover command: demo and info on real files; one-line errors."""

from __future__ import annotations

import subprocess
import sys

from xr_landcover import cli


def test_info_on_band_files(nc_band_files, capsys):
    assert cli.main(["info", *map(str, nc_band_files)]) == 0
    out = capsys.readouterr().out
    assert "6 bands (10, 20, 30, 40, 50, 70)" in out and "443 x 489" in out


def test_error_is_one_line_with_exit_code_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "xr_landcover.cli", "info", str(tmp_path / "missing.tif")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: raster file not found")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
