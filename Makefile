# Pressroom: `make run` serves the app, `make test` runs the suite. Both create .venv on first
# use and, without DATABASE_URL, start the embedded PostgreSQL under ./var/ (scripts/devdb.py).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
DEVDB := $(PY) scripts/devdb.py run --

.PHONY: run serve serve-workers test test-fast bench bench-blog bench-load bench-search bench-scale bench-admin bench-kept manage demo-passwords clean-var

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Pressroom needs Python >= 3.11 (set PYTHON=python3.11 or newer)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet '.[dev]'
	@touch $(INSTALLED)

run: $(INSTALLED)
	@$(DEVDB) $(PY) scripts/serve.py

# Production: Gunicorn (HTTP) + Daphne (/ws/) + the task cluster; needs DEBUG=0 (or unset),
# SECRET_KEY and ALLOWED_HOSTS (README, "Serving in production").
serve: $(INSTALLED)
	@$(DEVDB) $(PY) scripts/serve_production.py

# A machine that only runs tasks: the cluster, and a /metrics server when PRESSROOM_METRICS_TOKEN or
# PRESSROOM_METRICS_NETWORKS is set (README, "Processes and machines").
serve-workers: $(INSTALLED)
	@$(DEVDB) $(PY) scripts/serve_workers.py

# Two pytest runs on two pytest-xdist workers: the tests that start no process, then the slow ones
# (scripts/run_tests.py); ARGS go to both runs.
test: $(INSTALLED)
	@$(DEVDB) $(PY) scripts/run_tests.py $(ARGS)

# The suite without the tests marked slow (browsers, clusters, `make run`/`make serve`); CI runs `make test`.
test-fast: $(INSTALLED)
	@$(DEVDB) $(PY) scripts/run_tests.py --fast-only $(ARGS)

# Engine, pipeline and WebSocket fan-out benchmarks; write their results into docs/performance.md, e.g.
# `make bench ARGS="--tasks 200 --broker orm"`.
bench: $(INSTALLED)
	@$(DEVDB) $(PY) bench/engine_throughput.py --write-docs $(ARGS)
	@$(DEVDB) $(PY) bench/pipeline_throughput.py --write-docs
	@$(DEVDB) $(PY) bench/websocket_fanout.py --write-docs

# The public blog: page requests/s under Gunicorn (needs Debian's wrk), and search at 100,000
# posts; each writes its section of docs/performance.md.
bench-blog: $(INSTALLED)
	@$(DEVDB) $(PY) bench/blog_pages.py --write-docs $(ARGS)

# The blog and search under wrk, alone and while 200 tasks run the pipeline (a fake model of fixed
# latency) on the production serving setup; the first run also seeds 1,000 posts.
bench-load: $(INSTALLED)
	@$(DEVDB) $(PY) bench/load_under_pipeline.py --write-docs $(ARGS)

bench-search: $(INSTALLED)
	@$(DEVDB) $(PY) bench/search_scale.py --write-docs $(ARGS)

# Tasks per minute through the real pipeline (a fake model of fixed latency) with 1, 2 and 4 task
# clusters on one queue, e.g. `make bench-scale ARGS="--tasks 60 --workers 2"`.
bench-scale: $(INSTALLED)
	@$(DEVDB) $(PY) bench/cluster_scaling.py --write-docs $(ARGS)

# The admin's task lists and the task API at 50,000 tasks, as served and with generic plans.
bench-admin: $(INSTALLED)
	@$(DEVDB) $(PY) bench/admin_plans.py --write-docs $(ARGS)

# The engine with django-q2's kept results at their save limit, as on a site that has been up a while.
bench-kept: $(INSTALLED)
	@$(DEVDB) $(PY) bench/kept_results.py --write-docs $(ARGS)

# Any manage.py command against the same database, e.g. `make manage CMD="queue_status"`.
manage: $(INSTALLED)
	@$(DEVDB) $(PY) manage.py $(CMD)

demo-passwords: $(INSTALLED)
	@$(DEVDB) $(PY) manage.py create_demo_accounts --reset

# Deletes the embedded database's data, the generated secret key and media files.
clean-var:
	rm -rf var
