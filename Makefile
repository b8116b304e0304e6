# schetask: two commands for a newcomer, `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
TEMPORAL_CLI_VERSION := v1.5.1
STATICCHECK_VERSION := v0.8.2
PG_BIN := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))

.PHONY: run test test-faults bench bench-smoke build deps test-deps vet clean-data

## run: build what is missing, start Postgres + Temporal (+ Web) under .data/, migrate, serve
run: deps bin/schetask
	./bin/schetask dev

## test: the whole suite against a real Temporal dev server and a real Postgres
test: test-deps
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted" >&2; exit 1; fi
	$(vet_and_lint)
	docker-compose -f docker-compose.yml --env-file deploy/.env.example config -q
	docker-compose -f docker-compose.yml --env-file deploy/.env.example --profile monitoring config -q
	$(GO) test -race -count=1 -timeout 20m $(RACE_PACKAGES)
	$(GO) test -count=1 -timeout 20m $(NO_RACE_PACKAGES)

## test-faults: the fault suite (e2e/faults_test.go): workers killed, Temporal
## down a minute, Postgres restarted mid-run, 1,000 tasks churned, overlaps
test-faults: test-deps
	@mkdir -p .data; set -o pipefail; \
	if ! $(GO) test -tags faults -run '^TestFault' -count=1 -v -timeout 30m ./e2e/ 2>&1 | tee .data/test-faults.log; then \
		echo '--- what failed (the whole log: .data/test-faults.log):' >&2; \
		grep -E -- '^\s*--- FAIL|^\s+[a-z_]+_test\.go:[0-9]+: |^panic:' .data/test-faults.log | grep -v 'level=' | tail -40 >&2; \
		exit 1; \
	fi

## bench: every figure with its n (bench-results/bench.json): what schetask
## adds to a run beside bare node and raw Temporal, bursts, sync, the console
bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 2s ./publish/ ./taskhelper/ ./webui/
	$(GO) run ./cmd/schetask-bench

## bench-smoke: two minutes of the bench that fail on a figure past its bound (CI)
bench-smoke: deps
	$(GO) run ./cmd/schetask-bench -smoke

build: bin/schetask

bin/schetask: $(shell find . -name '*.go' -not -path './.data/*') $(shell find . -path './webui/templates/*' -o -path './migrations/*.sql' -o -path './taskhelper/node/*') go.mod go.sum
	$(GO) build -o $@ ./cmd/schetask

# The Temporal CLI carries the dev server and Temporal Web; it builds from
# the Go module proxy (several minutes the first time, cached after).
bin/temporal:
	GOBIN=$(CURDIR)/bin $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

## deps: what the machine needs besides Go: Postgres server binaries, node,
## and (as root) the unprivileged user tasks run as
deps: bin/temporal
	@$(call need_debian,$(if $(PG_BIN),,postgresql) $(if $(shell command -v node),,nodejs))
	@$(call need_task_user)

## test-deps: and for the tests, Chromium (the console's browser test) and
## docker-compose (to validate docker-compose.yml)
test-deps: deps
	@$(call need_debian,$(if $(or $(SCHETASK_CHROMIUM),$(shell command -v chromium)),,chromium) $(if $(shell command -v docker-compose),,docker-compose))

# need_debian installs the Debian packages named in $(1), when any, as root
# with apt-get; otherwise it says what to install and fails.
define need_debian
	missing="$(strip $(1))"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian's $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "need Debian's $$missing: apt-get install $$missing" >&2; exit 1; \
		fi; \
	fi
endef

# need_task_user creates the user tasks run as (SCHETASK_TASK_USER,
# default schetask-task) when running as root and it is missing.
TASK_USER ?= $(or $(SCHETASK_TASK_USER),schetask-task)
define need_task_user
	if [ "$$(id -u)" = 0 ] && ! id -u $(TASK_USER) >/dev/null 2>&1; then \
		echo "creating the task user $(TASK_USER)"; \
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin $(TASK_USER); \
	fi
endef

## vet: go vet and staticcheck, on the default build and every build tag
vet:
	$(vet_and_lint)

# BUILD_TAGS are the tags that guard files of their own (`//go:build faults`
# on e2e/faults_test.go): vet and staticcheck see those files only when
# told the tag, so each is checked besides the default build.
BUILD_TAGS = $(sort $(shell grep -rhE --include='*.go' --exclude-dir=.data --exclude-dir=.git '^//go:build [a-z0-9_]+$$' . | cut -d' ' -f2))
STATICCHECK = $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
define vet_and_lint
	$(GO) vet ./...
	$(STATICCHECK) ./...
	for tag in $(BUILD_TAGS); do $(GO) vet -tags $$tag ./... && $(STATICCHECK) -tags $$tag ./... || exit 1; done
endef

# The unit packages run with the race detector; e2e (whole systems and
# processes, timing-bound) does not. (webui under -race takes ~160 s here
# against ~40 s without; its handlers pass c.UserContext(), not fasthttp's
# RequestCtx, whose Done raced with Shutdown.)
NO_RACE_PACKAGES = ./e2e/
RACE_PACKAGES = $(shell $(GO) list ./... | grep -v -e '/e2e$$')

## clean-data: forget the dev stack's data (.data/)
clean-data:
	rm -rf .data
