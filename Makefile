# Two commands: `make demo` and `make test`. Both create/update .venv from pyproject.toml.
# `make mutation` (not part of `make test`: hours for all modules) mutation-tests the modules
# that compute results; MUTATION_MODULES picks some (scripts/mutation.py --list), see
# docs/testing.md.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
DEMO_OUT ?= demo_output

MUTATION_MODULES ?=

.PHONY: demo test lint docs clean bench browser otb gdal mutation

$(PY):
	$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: installing Debian's python3-venv"; \
	  apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PIP) install --upgrade pip setuptools wheel

$(VENV)/.demo-installed: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(PY)
	$(PIP) install -e ".[test,docs]"
	touch $@ $(VENV)/.demo-installed

$(VENV)/.mutation-installed: pyproject.toml | $(VENV)/.test-installed
	$(PIP) install -e ".[test,mutation]"
	touch $@

demo: $(VENV)/.demo-installed
	$(VENV)/bin/xr-landcover demo --output $(DEMO_OUT)

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check .

docs: $(VENV)/.test-installed
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir build/site

# The interactive-map test drives a real headless Chromium (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium for the browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The majority-filter tests compare with Orfeo ToolBox's command-line tools (Debian's otb-bin);
# they skip, saying why, where it cannot be installed.
otb:
	@command -v otbcli_ClassificationMapRegularization >/dev/null 2>&1 || { \
	  echo "installing Debian's otb-bin for the OTB comparisons"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq otb-bin >/dev/null \
	  || echo "otb-bin could not be installed: the OTB comparisons will be skipped"; }

# The GeoTIFF tests read the class names and attribute table back with gdalinfo (Debian's
# gdal-bin: another GDAL than rasterio's); they skip, saying why, where it cannot be installed.
gdal:
	@command -v gdalinfo >/dev/null 2>&1 || { \
	  echo "installing Debian's gdal-bin for the gdalinfo checks"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gdal-bin >/dev/null \
	  || echo "gdal-bin could not be installed: the gdalinfo checks will be skipped"; }

test: $(VENV)/.test-installed browser otb gdal
	$(VENV)/bin/ruff check .
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir build/site
	$(PY) -m pytest xr_landcover tests notebooks --nbmake --nbmake-timeout=600

mutation: $(VENV)/.mutation-installed
	$(PY) scripts/mutation.py $(MUTATION_MODULES)

clean:
	rm -rf $(VENV) build $(DEMO_OUT) .pytest_cache .benchmarks
