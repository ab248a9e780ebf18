# Two commands for a newcomer: `make demo` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
.DEFAULT_GOAL := help
LC := tools/localcluster

.PHONY: help deps venv lock cluster-up cluster-down cluster-env cluster-status demo \
        test test-sanity test-units test-lint test-importer test-integration test-molecule test-typecheck bench

help:
	@echo "make demo          local cluster up, a credential and group defined, a playbook run in an ephemeral Pod"
	@echo "make test          every test: sanity and units (oldest and newest ansible-core), lint, galaxy-importer, integration"
	@echo "make cluster-up | cluster-down | cluster-env | cluster-status"
	@echo "make test-sanity | test-units | test-lint | test-importer | test-typecheck | test-integration | test-molecule | bench"
	@echo "make lock          rewrite tools/requirements/*.txt from *.in (after editing a pin)"

deps:
	@tools/install-deps.sh

venv: deps
	@tools/venv.sh newest >/dev/null
	@tools/venv.sh oldest >/dev/null

# Every Python environment installs from a lock; this rewrites them all from their inputs.
lock:
	@python3 tools/lock.py compile "$$(tools/venv.sh lock)/bin/uv"

cluster-up: deps
	@$(LC)/cluster.sh up

cluster-down:
	@$(LC)/cluster.sh down

cluster-env:
	@$(LC)/cluster.sh env

cluster-status:
	@$(LC)/cluster.sh status

demo: venv cluster-up
	@tools/demo.sh

test: venv cluster-up
	@tools/test.sh all

test-sanity: venv
	@tools/test.sh sanity

test-units: venv
	@tools/test.sh units

test-lint: venv
	@tools/test.sh lint

test-importer: venv
	@tools/test.sh importer

test-typecheck: venv
	@tools/test.sh typecheck

test-integration: venv cluster-up
	@tools/test.sh integration

test-molecule: venv cluster-up
	@tools/test.sh molecule

bench: venv cluster-up
	@tools/bench/run-all.sh
