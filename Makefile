# okcow: `make run` serves the site, `make test` runs every test. See README.md.
PYTHON_VERSION := $(shell cat .python-version)
PY      ?= python$(PYTHON_VERSION)
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# mysqlclient builds against these, and gettext compiles the translations (Debian and Ubuntu:
# installed when missing)
SYSTEM_PACKAGES := if command -v dpkg-query >/dev/null 2>&1; then .ci/debian-packages libmariadb-dev pkg-config gettext; fi
# Board search on a local MariaDB server runs on its Mroonga plugin (docs/board.md): installed
# and loaded when DATABASE_URL is MariaDB on this machine; the migration checks it is there.
SEARCH_ENGINE := if echo "$$DATABASE_URL" | grep -Eq '^mysql://[^/]*@?(127\.0\.0\.1|localhost)[:/]' \
	&& command -v dpkg-query >/dev/null 2>&1 && dpkg-query -W mariadb-server >/dev/null 2>&1; then \
	.ci/debian-packages mariadb-plugin-mroonga && { .ci/mroonga || echo "Mroonga not loaded (root)"; }; fi
DEVSTAMP := $(VENV)/.installed-dev
# The translations (README: Languages): each locale's .po compiled to the .mo Django reads.
CATALOGS := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))
# makemessages' options: English is the source; only the project's own code and templates.
MESSAGES_ARGS := --no-location --no-wrap -i .venv -i staticfiles -i static -i var -i tests -i seeds -i bench -i docs
HOST    ?= 127.0.0.1
PORT    ?= 8000
# The primary and replica of .ci/mariadb-replica (make test-topology, make bench-replica)
export MARIADB_PRIMARY_PORT ?= 3307
export MARIADB_REPLICA_PORT ?= 3308

.PHONY: run test test-topology install install-dev messages migrate demo lint format screenshots serve gunicorn bench bench-replica clean

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python $(PYTHON_VERSION) is needed (pyenv install $(PYTHON_VERSION))"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): requirements.txt | $(BIN)/python
	@$(SYSTEM_PACKAGES)
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEVSTAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	@$(SYSTEM_PACKAGES)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(STAMP)

# A catalogue is compiled again whenever its .po changes (or the install does).
locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po $(STAMP)
	$(BIN)/python manage.py compilemessages --locale $* --ignore '.*' --ignore var --ignore staticfiles -v 0

install: $(STAMP) $(CATALOGS)
install-dev: $(DEVSTAMP) $(CATALOGS)

## make messages: gather every translatable string into locale/*/LC_MESSAGES/django.po
## (then translate the new entries, and `make install` compiles them)
messages: install
	$(BIN)/python manage.py makemessages --all $(MESSAGES_ARGS)

migrate: install
	@$(SEARCH_ENGINE)
	$(BIN)/python manage.py migrate --no-input -v 0

demo: migrate
	$(BIN)/python manage.py demo_data

# With Redis (MARKET_MATCHER=stream) the market's matcher and the postings follower run beside the
# server and stop with it; without, orders are matched and postings written inline, and neither is
# needed.
WITH_MATCHER = if [ -n "$$REDIS_URL" ] && [ "$${MARKET_MATCHER:-stream}" = stream ]; then \
	$(BIN)/python manage.py run_matcher & matcher=$$!; \
	if [ "$${LEDGER_POSTINGS:-follower}" = follower ]; then \
	$(BIN)/python manage.py run_postings & follower=$$!; fi; \
	trap 'kill $$matcher $$follower 2>/dev/null' EXIT INT TERM; fi;

## make run: install, migrate, load demo data, serve on http://127.0.0.1:8000
run: demo
	@echo "okcow is serving on http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	@$(WITH_MATCHER) $(BIN)/python manage.py runserver $(HOST):$(PORT)

## make test: install test tools and run every test
test: install-dev
	@$(SEARCH_ENGINE)
	$(BIN)/pytest $(PYTEST_ARGS)

## make test-topology: the tests past one machine on a real MariaDB primary and GTID replica
## (.ci/mariadb-replica starts them on 3307/3308, beside the server on 3306, and stops them after)
## and on Redis Sentinel (the test starts .ci/redis-sentinel: 6380/6381 and sentinels 26380-2)
test-topology: install-dev
	.ci/mariadb-replica clean  # a new pair each run: nothing left over from an earlier one
	.ci/mariadb-replica start
	OKCOW_TEST_MARIADB_PRIMARY=mysql://root@127.0.0.1:$(MARIADB_PRIMARY_PORT) \
	OKCOW_TEST_MARIADB_REPLICA=mysql://root@127.0.0.1:$(MARIADB_REPLICA_PORT) \
	OKCOW_TEST_REDIS_SENTINEL=1 \
	  $(BIN)/pytest tests/topology -s $(PYTEST_ARGS); status=$$?; .ci/mariadb-replica stop; exit $$status

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## make gunicorn: serve with gunicorn (production-like); configure with the env vars in README.md
gunicorn: migrate
	$(BIN)/python manage.py collectstatic --no-input -v 0
	@$(WITH_MATCHER) $(BIN)/gunicorn -c config/gunicorn.conf.py config.wsgi

## make screenshots: the README's pictures of the site (docs/screenshots), taken by the design's
## browser test (tests/browser/test_design.py) in Korean and English, at desktop and phone widths
screenshots: install-dev
	OKCOW_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/browser/test_design.py -q

## make bench: seed (if needed), serve with gunicorn on MariaDB + Redis, load it, print the table
## (README: Speed). Options go in BENCH_ARGS, e.g. BENCH_ARGS="--scale 0.01 --duration 3".
bench: export DATABASE_URL ?= mysql://root@127.0.0.1:3306/okcow_bench
bench: export REDIS_URL ?= redis://127.0.0.1:6379/3
bench: install-dev
	.ci/debian-packages wrk mariadb-plugin-mroonga
	.ci/mroonga
	$(BIN)/python -m bench.database
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## make bench-replica: the board's read rows again on a server that reads a real GTID replica
## (.ci/mariadb-replica: the data seeded on its primary, 3307, and read on 3308). BENCH_ARGS as
## for make bench, e.g. BENCH_ARGS="--scale 0.01 --duration 3".
bench-replica: export DATABASE_URL ?= mysql://root@127.0.0.1:$(MARIADB_PRIMARY_PORT)/okcow_bench
bench-replica: export BENCH_REPLICA_URL ?= mysql://root@127.0.0.1:$(MARIADB_REPLICA_PORT)/okcow_bench
bench-replica: export REDIS_URL ?= redis://127.0.0.1:6379/4
bench-replica: install-dev
	.ci/debian-packages wrk mariadb-plugin-mroonga
	.ci/mariadb-replica start
	$(BIN)/python -m bench.database
	DATABASE_URL=$$BENCH_REPLICA_URL $(BIN)/python -m bench.database
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python -m bench.run --only board-list board-list-spread post-cached post-uncached $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var staticfiles
