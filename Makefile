# Deploy a Flask app to Debian servers with pyinfra. `make help` lists the targets.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
PYTEST_ARGS ?=
# The suites that also run on Debian 13 (trixie); the others run on Debian 12 (bookworm) alone.
TRIXIE_SUITES ?= tests/test_single_server.py tests/test_https.py tests/test_updates.py \
	tests/test_offsite_backups.py::test_a_fresh_server_gets_the_lost_ones_data_files_and_secrets_back \
	tests/test_offsite_backups.py::test_the_nightly_backup_is_drilled_and_shows_in_status
SHELL_SCRIPTS := tools/ensure_docker.sh .ci/run

.PHONY: help venv docker server deploy dry update rollback remove status logs shell backup backups restore offsite-forget maintenance live history test unit lint bench stop clean
DAY_TWO := $(PYTHON) -m tools.day_two

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

venv: $(VENV)/.installed ## Python environment with pyinfra and the test tools

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

docker: ## Make sure a Docker engine and mmdebstrap are there (installs them on Debian as root)
	@tools/ensure_docker.sh

server: venv docker ## Start (or reuse) the local Debian 12 server in a container (DEBIAN=trixie: Debian 13)
	$(PYTHON) -m testbed.local_server start

deploy: venv ## Deploy: to DEPLOY_HOSTS (or DEPLOY_WEB/APP_HOSTS, DEPLOY_DB_HOST) when set, else to the local server
	$(PYTHON) -m tools.make_deploy

dry: venv ## Show what a deploy would change, changing nothing (--dry)
	$(PYTHON) -m tools.make_deploy --dry

update: deploy ## New release of the app (its latest tag, or `ref`), zero downtime, rolled back on failure

rollback: venv ## Back to the previous release (code, venv and database schema)
	$(PYTHON) -m tools.make_deploy --rollback

remove: venv ## Take one app off its servers, the others untouched (APP=its app_name; DATA=1: its database and dumps too)
	$(PYTHON) -m tools.make_deploy --remove --data remove_app=$(APP) $(if $(DATA),--data remove_data=True)

status: venv ## How every host does (release, health, gunicorn, MariaDB, certificate, backups, disk); JSON=1 for JSON
	$(DAY_TWO) status $(if $(JSON),--json)

logs: venv ## The app's and nginx's logs of every host (FOLLOW=1 to follow, LINES=N, HOST=name)
	$(DAY_TWO) logs --lines $(or $(LINES),20) $(if $(FOLLOW),--follow) $(if $(HOST),--host $(HOST))

shell: venv ## A shell as the app user in the serving release, with its .env (CMD="flask shell" runs one; HOST=name)
	$(DAY_TWO) shell $(if $(HOST),--host $(HOST))

backup: venv ## A dump of the database now (kept by backups_keep)
	$(DAY_TWO) backup

backups: venv ## The database dumps kept
	$(DAY_TWO) backups

restore: venv ## The newest dump (DUMP=name, or off-site SNAPSHOT=latest|id) restored, after a backup, in maintenance
	$(DAY_TWO) restore $(if $(DUMP),--dump $(DUMP)) $(if $(SNAPSHOT),--snapshot $(SNAPSHOT))

offsite-forget: venv ## Apply backup_offsite_keep to the off-site repository from this machine (append-only ones)
	$(DAY_TWO) offsite-forget

maintenance: venv ## The site answers 503 with the maintenance page (but to the servers' own health checks)
	$(DAY_TWO) maintenance

live: venv ## The site serves the app again, after `make maintenance`
	$(DAY_TWO) live

history: venv ## Every release, rollback and failure: who, when, which commit, how long (JSON=1 for JSON)
	$(DAY_TWO) history $(if $(JSON),--json)

test: venv docker lint ## Install what is needed and run every test, end-to-end ones included (on Debian 12 and 13)
	$(PYTHON) -m pytest $(PYTEST_ARGS)
	DEBIAN=trixie $(PYTHON) -m pytest $(PYTEST_ARGS) $(TRIXIE_SUITES)

unit: venv lint ## The linters and the fast tests (no Docker)
	$(PYTHON) -m pytest -m "not e2e" $(PYTEST_ARGS)

lint: venv ## ruff (lint and format check) and shellcheck
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/shellcheck $(SHELL_SCRIPTS)

bench: venv docker ## Benchmarks: deploy times; requests lost during an update, the article's way and ours; recovery
	$(PYTHON) -m bench.deploy_time
	$(PYTHON) -m bench.update_downtime
	$(PYTHON) -m bench.recovery_time

stop: venv ## Remove the local server container
	$(PYTHON) -m testbed.local_server stop

clean: stop ## Remove the local server, its keys and the venv
	rm -rf .local $(VENV)
