# kserve-template: the kit's own tasks. `make demo` and `make test` are the two commands in README.md.
PYTHON ?= python3
VENV ?= .venv
PY = $(VENV)/bin/python
DEMO_DIR ?= demo
INSTALLED = $(VENV)/.installed
# checkov (used by the tests through rendered repos' `make scan`) pins libraries that clash with
# pytest and kubernetes: it lives in an environment of its own.
CHECKOV_VENV ?= .venv-checkov

.PHONY: help install demo test lint docs release

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25.1"
	$(PY) -m pip install --quiet -e ".[tooling]" --group dev
	touch $@

$(CHECKOV_VENV)/bin/checkov:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet "checkov>=3.2,<4"

install: $(INSTALLED) $(CHECKOV_VENV)/bin/checkov ## .venv (copier, kserve-kit editable, test tools) and .venv-checkov

demo: $(INSTALLED) ## render a service with the defaults into DEMO_DIR (./demo), install, train, smoke test it
	@if [ -n "$$(ls -A "$(DEMO_DIR)" 2>/dev/null)" ]; then \
	  if [ "$$(git -C "$(DEMO_DIR)" rev-parse --show-toplevel 2>/dev/null)" != "$$(realpath "$(DEMO_DIR)")" ]; then \
	    echo "demo: $(DEMO_DIR) exists and is not a demo made by make demo: move it away, or make demo DEMO_DIR=demo2"; \
	    exit 1; \
	  fi; \
	  changed=$$(git -C "$(DEMO_DIR)" status --porcelain); \
	  if [ -n "$$changed" ]; then \
	    echo "demo: $(DEMO_DIR) holds changes a new render would delete: $$(echo $$changed)"; \
	    echo "demo: keep them elsewhere and remove $(DEMO_DIR), or render into another folder: make demo DEMO_DIR=demo2"; \
	    exit 1; \
	  fi; \
	fi
	rm -rf $(DEMO_DIR)
	$(PY) -m copier copy --trust --defaults --quiet --vcs-ref HEAD "$(CURDIR)" $(DEMO_DIR)
	# A git repo, so the next `make demo` can tell an untouched demo from one with your edits.
	git -C $(DEMO_DIR) init -q && git -C $(DEMO_DIR) add -A
	git -C $(DEMO_DIR) -c user.name=kserve-template -c user.email=demo@localhost commit -qm "demo as rendered"
	$(MAKE) -C $(DEMO_DIR) install train smoke
	@echo "demo: the rendered service is in $(DEMO_DIR), with its own .venv; see $(DEMO_DIR)/README.md"

# One pytest worker per CPU; the tests on the owners' installed repos and podman stay on one of them,
# in order (tests/conftest.py), and the others spread over the rest.
test: install ## the kit's whole test suite (renders, real servers, schema checks)
	@.ci/system-packages
	$(PY) -m pytest --numprocesses auto --dist loadgroup $(PYTEST_ARGS)

lint: $(INSTALLED) ## ruff on the kit's own code
	$(PY) -m ruff check kserve_kit extensions tests bench
	$(PY) -m ruff format --check kserve_kit extensions tests bench

docs: $(INSTALLED) ## regenerate docs/questions.md from copier.yml and build the docs (mkdocs --strict)
	$(PY) -m extensions.questions_doc > docs/questions.md
	$(PY) -m mkdocs build --strict --site-dir site

release: ## release the kit as VERSION=x.y.z: checks CHANGELOG, sets pyproject's version, commits, tags
	@test -n "$(VERSION)" || { echo "release: give the version, e.g. make release VERSION=0.5.0"; exit 2; }
	$(PY) -m extensions.release $(VERSION)
