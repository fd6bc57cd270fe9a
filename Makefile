# dsamstan — build, test and demo targets. `make help` lists them.
GO       ?= go
BIN      ?= bin/dsamstan
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
DEMO_DIR ?= demo
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK ?= $(or $(shell command -v staticcheck 2>/dev/null),$(wildcard $(shell $(GO) env GOPATH)/bin/staticcheck))

# CmdStan: $CMDSTAN, else the newest ~/.cmdstan/cmdstan-* (the same rule dsamstan uses).
CMDSTAN_FOUND := $(or $(CMDSTAN),$(lastword $(sort $(wildcard $(HOME)/.cmdstan/cmdstan-*))))

.PHONY: help build test test-short bench bench-fit calibration calibrate-bench recovery demo lint tools vet golden check-clean cmdstan clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

build: ## build bin/dsamstan
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/dsamstan

test: ## all tests with the race detector (integration tests run when CmdStan is found)
	$(GO) vet ./...
	$(GO) test -race -timeout 50m ./... # a cold compile cache costs codegen ~20 min under -race

test-short: ## unit tests only, no CmdStan
	$(GO) test -short ./...

bench: ## parser, summary, derive, LOO, optimiser and run-overhead benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-fit: ## sampling speed against a row-wise baseline program (needs CmdStan; slow)
	$(GO) test -tags cmdstan -run '^$$' -bench Fit -benchtime 1x -timeout 120m ./codegen

calibration: ## simulation-based calibration of the panel program, 1000 fits (needs CmdStan; hours)
	$(GO) test -tags calibration -run '^TestCalibrationFull$$' -v -timeout 600m ./codegen

calibrate-bench: ## dsamstan calibrate on the 8 x 156 panel example, 100 simulations (needs CmdStan; minutes)
	$(GO) test -tags calibration -run '^$$' -bench CalibrateExample -benchtime 1x -v -timeout 120m ./calibrate

SEEDS ?= 42
recovery: ## recovery of the simulated --transforms examples, BLM and 8-market panel, at SEEDS (e.g. SEEDS=42,1,2; needs CmdStan; ~2 min a seed)
	$(GO) test -tags recovery -run '^TestRecoveryTransforms$$' -v -timeout 300m ./pipeline -recovery.seeds=$(SEEDS)

lint: vet ## gofmt, go vet and staticcheck (staticcheck runs when installed)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	@if [ -n "$(STATICCHECK)" ]; then $(STATICCHECK) ./...; else echo "staticcheck not installed: make tools"; fi

tools: ## install the linters lint uses (staticcheck)
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

vet: ## go vet
	$(GO) vet ./...

golden: ## rewrite codegen golden files
	$(GO) test -short ./codegen -update

check-clean: golden ## fail when formatting, go mod tidy or the goldens would change the tree
	gofmt -l . | (! grep .)
	$(GO) mod tidy
	git diff --exit-code

cmdstan: ## install CmdStan into ~/.cmdstan unless one is found
	@if [ -n "$(CMDSTAN_FOUND)" ] && [ -x "$(CMDSTAN_FOUND)/bin/stanc" ] && ls "$(CMDSTAN_FOUND)"/src/cmdstan/main*.o >/dev/null 2>&1; then \
		echo "CmdStan found: $(CMDSTAN_FOUND)"; \
	else \
		scripts/install_cmdstan.sh; \
	fi

demo: cmdstan build ## install CmdStan if missing, build, and fit the embedded panel example
	$(BIN) example hierarchical --out $(DEMO_DIR)
	$(BIN) run $(DEMO_DIR)/config.yaml --run-dir $(DEMO_DIR)/run
	@echo "Report: $(CURDIR)/$(DEMO_DIR)/run/index.html"

clean: ## remove build outputs and the demo folder
	rm -rf bin $(DEMO_DIR)
