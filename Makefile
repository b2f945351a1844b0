# Two commands: `make run` serves the whole system with demo data; `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= config.settings.development

.PHONY: run test venv migrate lint messages schema clean

# The virtual environment is rebuilt whenever a requirements file changes.
$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

migrate: venv
	$(BIN)/python manage.py migrate --noinput

# honcho runs the web server (gunicorn), a Celery worker and beat (Procfile); Ctrl-C stops all. The broker is
# CELERY_BROKER_URL, or with none the folder tmp/broker (development settings), so no request waits for a task.
# Registries (the sandbox) and callbacks are reached at the address the web server listens on.
run: export PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
run: export WEB_BIND ?= 127.0.0.1:$(PORT)
run: migrate
	$(BIN)/python manage.py load_demo_data
	@mkdir -p tmp
	@echo "Serving on http://127.0.0.1:$(PORT)/ with a Celery worker and beat; Ctrl-C stops all"
	$(BIN)/honcho start -f Procfile

test: venv
	bin/ensure-test-tools
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Extract and compile the kk/ru/en catalogues (needs GNU gettext; the compiled .mo files are committed).
messages: venv
	$(BIN)/python manage.py makemessages -l kk -l ru -l en --no-obsolete --ignore '.venv/*' --ignore 'staticfiles/*' \
		--ignore 'tests/*'
	$(BIN)/python bin/fill_english_catalogue.py
	$(BIN)/python bin/merge_fragments.py
	$(BIN)/python manage.py compilemessages --ignore '.venv/*'

# The published OpenAPI schema; a test fails when the committed file and the code drift apart.
schema: venv
	SANDBOX_MODE=1 DJANGO_SETTINGS_MODULE=config.settings.development $(BIN)/python manage.py spectacular \
		--file docs/openapi.yaml --validate --fail-on-warn

clean:
	rm -rf $(VENV) staticfiles .pytest_cache tmp
