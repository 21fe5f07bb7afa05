# neighsim: two commands do all set-up on a fresh machine.
#   make demo   - install, run the main job on the bundled data and write a report
#   make test   - install, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out/demo
REPLICATES ?= 3

.PHONY: install demo test test-fast lint bench schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/neighsim population
	$(BIN)/neighsim run configs/scenarios/health_checks.yaml configs/scenarios/tobacco.yaml \
		configs/scenarios/warm_homes.yaml configs/scenarios/falls_pathway.yaml configs/scenarios/combined.yaml \
		--contributions --replicates $(REPLICATES) --out $(OUT) --resume --force-new
	$(BIN)/neighsim validate --out $(OUT)
	$(BIN)/neighsim report $(OUT)
	@echo "Demo written to $(OUT)/: open $(OUT)/report.html in a browser (also report.md, results.xlsx, summary.csv)"

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

schemas: $(STAMP)
	for k in ics scenario experiment parameters; do $(BIN)/neighsim schema $$k --out docs/schemas/$$k.schema.json; done

clean:
	rm -rf $(VENV) out .pytest_cache
