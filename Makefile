# neighsim: two commands do all set-up on a fresh machine.
#   make demo   - install, run the main job on the bundled data and write a report
#   make test   - install, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out/demo
DRAWS ?= 100
SCALE ?= 0.05
SENSITIVITY_SCALE ?= 0.05
SCENARIOS := health_checks tobacco warm_homes falls_pathway combined

.PHONY: install demo test test-fast lint bench schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The demo: a probabilistic sensitivity analysis ($(DRAWS) draws of every uncertain parameter) of the four
# interventions and their combination, on a $(SCALE) sample of residents scaled up to the whole ICS (the
# engine's speed buys draws rather than residents; `neighsim run ... --psa 100` on the whole population is
# the business-case run), a one-way sensitivity analysis of each for the tornado charts, the validation,
# and the report. The simulations run in worker processes on every core (the default backend).
demo: $(STAMP)
	$(BIN)/neighsim population
	$(BIN)/neighsim run $(foreach s,$(SCENARIOS),configs/scenarios/$(s).yaml) \
		--psa $(DRAWS) --scale $(SCALE) --scale-up --out $(OUT) --resume --force-new
	$(BIN)/neighsim sensitivity $(foreach s,$(SCENARIOS),configs/scenarios/$(s).yaml) --candidates interventions \
		--scale $(SENSITIVITY_SCALE) --scale-up --out $(OUT)/sensitivity
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
